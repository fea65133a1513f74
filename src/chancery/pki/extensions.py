"""The extensions Chancery puts into a certificate (RFC 5280 §4.2)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import AuthorityInformationAccessOID

from chancery.domain.records import DistributionUrls
from chancery.pki.preencoded import encoded
from chancery.pki.profiles.model import Profile


@dataclass(frozen=True)
class ExtensionInputs:
    """Everything the extension set depends on. ``subject_key_identifier`` is ``None`` when the
    profile leaves it out; ``requested`` are the CSR's extensions the profile lets through."""

    profile: Profile
    subject_key: PublicKeyTypes
    subject_key_identifier: bytes | None
    sans: tuple[x509.GeneralName, ...]
    subject_is_empty: bool
    issuer_extensions: tuple[x509.Extension[x509.ExtensionType], ...]
    path_length: int | None
    requested: tuple[x509.Extension[x509.ExtensionType], ...] = ()


def key_usage(usages: frozenset[str], subject_key: PublicKeyTypes) -> x509.KeyUsage:
    """keyUsage with ``usages``; keyEncipherment and dataEncipherment only for RSA keys (RFC 5280 §4.2.1.3)."""
    return _key_usage(usages, isinstance(subject_key, rsa.RSAPublicKey))


@lru_cache(maxsize=256)
def _key_usage(usages: frozenset[str], rsa_key: bool) -> x509.KeyUsage:
    usage = set(usages)
    if not rsa_key:
        usage.discard("key_encipherment")
        usage.discard("data_encipherment")
    return x509.KeyUsage(
        digital_signature="digital_signature" in usage,
        content_commitment="content_commitment" in usage,
        key_encipherment="key_encipherment" in usage,
        data_encipherment="data_encipherment" in usage,
        key_agreement="key_agreement" in usage,
        key_cert_sign="key_cert_sign" in usage,
        crl_sign="crl_sign" in usage,
        encipher_only=False,
        decipher_only=False,
    )


def key_identifier(public_key: PublicKeyTypes) -> bytes:
    """RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING."""
    return x509.SubjectKeyIdentifier.from_public_key(public_key).digest


def issuer_key_identifier(issuer: x509.Certificate) -> bytes:
    """The issuer's own SKI when it has one, so AKI matches it byte for byte (RFC 5280 §4.2.1.1)."""
    try:
        return issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return key_identifier(issuer.public_key())


def build_extensions(inputs: ExtensionInputs) -> list[x509.Extension[x509.ExtensionType]]:
    """The extensions, in the order they appear in the certificate.

    Everything that does not depend on the subject is built once and reused
    (extension objects are immutable); only SAN and SKI are new per certificate.
    """
    profile = inputs.profile
    rsa_key = isinstance(inputs.subject_key, rsa.RSAPublicKey)
    extensions: list[x509.Extension[x509.ExtensionType]] = [
        # RFC 5280 §4.2.1.9: MUST be critical in CA certificates; Chancery marks it critical everywhere.
        _basic_constraints(profile.is_ca, inputs.path_length if profile.is_ca else None),
        # RFC 5280 §4.2.1.3: SHOULD be critical.
        _key_usage_extension(profile.key_usage, profile.key_usage_critical, rsa_key),
    ]
    if profile.extended_key_usage:
        extensions.append(_extended_key_usage(profile.extended_key_usage, profile.extended_key_usage_critical))
    if inputs.sans:
        # RFC 5280 §4.2.1.6: critical when the subject is empty.
        extensions.append(_extension(x509.SubjectAlternativeName(list(inputs.sans)), inputs.subject_is_empty))
    if inputs.subject_key_identifier is not None:
        extensions.append(_extension(x509.SubjectKeyIdentifier(inputs.subject_key_identifier), False))
    extensions.extend(inputs.issuer_extensions)
    extensions.extend(profile.fixed_extensions)  # policies, name constraints, OCSP no-check, TLS feature, custom
    extensions.extend(inputs.requested)
    return extensions


def issuer_extensions(
    key_identifier: bytes, urls: DistributionUrls | None
) -> tuple[x509.Extension[x509.ExtensionType], ...]:
    """What every certificate of one issuer carries: AKI (RFC 5280 §4.2.1.1), CRL DP and AIA."""
    aki = encoded(_extension(x509.AuthorityKeyIdentifier(key_identifier, None, None), False))
    if urls is None:
        return (aki,)
    return (aki, *distribution_extensions(urls))


def distribution_extensions(urls: DistributionUrls) -> tuple[x509.Extension[x509.ExtensionType], ...]:
    """CRL distribution point (RFC 5280 §4.2.1.13) and AIA with OCSP and caIssuers (§4.2.2.1)."""
    crl = x509.DistributionPoint([x509.UniformResourceIdentifier(urls.crl)], None, None, None)
    aia = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(urls.ocsp)),
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(urls.ca_issuers)
            ),
        ]
    )
    return (encoded(_extension(x509.CRLDistributionPoints([crl]), False)), encoded(_extension(aia, False)))


def _extension(value: x509.ExtensionType, critical: bool) -> x509.Extension[x509.ExtensionType]:
    return x509.Extension(value.oid, critical, value)


@lru_cache(maxsize=64)
def _basic_constraints(ca: bool, path_length: int | None) -> x509.Extension[x509.ExtensionType]:
    return encoded(_extension(x509.BasicConstraints(ca=ca, path_length=path_length), True))


@lru_cache(maxsize=256)
def _key_usage_extension(usages: frozenset[str], critical: bool, rsa_key: bool) -> x509.Extension[x509.ExtensionType]:
    return encoded(_extension(_key_usage(usages, rsa_key), critical))


@lru_cache(maxsize=256)
def _extended_key_usage(
    usages: tuple[x509.ObjectIdentifier, ...], critical: bool
) -> x509.Extension[x509.ExtensionType]:
    return encoded(_extension(x509.ExtendedKeyUsage(list(usages)), critical))
