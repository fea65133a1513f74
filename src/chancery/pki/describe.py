"""A certificate's fields and extensions as plain data (previews, ``show`` commands)."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID

from chancery.pki.names import format_name
from chancery.pki.profiles.names import EXTENDED_KEY_USAGES, KEY_USAGES
from chancery.pki.sans import format_san
from chancery.pki.spki import key_identifiers

_EKU_NAMES = {oid.dotted_string: name for name, oid in EXTENDED_KEY_USAGES.items()}


def describe_certificate(certificate: x509.Certificate, *, with_signature: bool = False) -> dict[str, Any]:
    """The to-be-signed fields; ``with_signature`` adds the signature algorithm only (never a signature)."""
    key = certificate.public_key()
    fields: dict[str, Any] = {
        "version": certificate.version.name,
        "serial": format(certificate.serial_number, "x"),
        "issuer": format_name(certificate.issuer),
        "subject": format_name(certificate.subject),
        "subject_rdns": [
            {"oid": a.oid.dotted_string, "name": a.oid._name, "value": a.value, "type": a._type.name}
            for a in certificate.subject
        ],
        "not_before": certificate.not_valid_before_utc.isoformat(),
        "not_after": certificate.not_valid_after_utc.isoformat(),
        "public_key": _describe_key(key),
        "extensions": [describe_extension(extension) for extension in certificate.extensions],
    }
    if with_signature:
        fields["signature_algorithm"] = certificate.signature_algorithm_oid._name
    return fields


def describe_extension(extension: x509.Extension[x509.ExtensionType]) -> dict[str, Any]:
    return {
        "oid": extension.oid.dotted_string,
        "name": extension.oid._name,
        "critical": extension.critical,
        "value": _value(extension.value),
    }


def _describe_key(key: Any) -> dict[str, Any]:
    described: dict[str, Any] = {"sha256": key_identifiers(key).sha256}
    if isinstance(key, rsa.RSAPublicKey):
        described.update(algorithm="rsa", bits=key.key_size)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        described.update(algorithm="ec", curve=key.curve.name)
    else:
        described.update(algorithm=type(key).__name__.removeprefix("_").removesuffix("PublicKey").lower())
    return described


def _value(value: x509.ExtensionType) -> Any:  # noqa: C901 - one branch per extension type
    if isinstance(value, x509.BasicConstraints):
        return {"ca": value.ca, "path_length": value.path_length}
    if isinstance(value, x509.KeyUsage):
        return [flag for flag in KEY_USAGES if getattr(value, flag)]
    if isinstance(value, x509.ExtendedKeyUsage):
        return [_EKU_NAMES.get(oid.dotted_string, oid.dotted_string) for oid in value]
    if isinstance(value, x509.SubjectAlternativeName):
        return [format_san(name) for name in value]
    if isinstance(value, x509.SubjectKeyIdentifier):
        return value.digest.hex()
    if isinstance(value, x509.AuthorityKeyIdentifier):
        return value.key_identifier.hex() if value.key_identifier else None
    if isinstance(value, x509.CRLDistributionPoints):
        return [format_san(name) for point in value for name in (point.full_name or ())]
    if isinstance(value, x509.AuthorityInformationAccess):
        return [f"{d.access_method._name}: {format_san(d.access_location)}" for d in value]
    if isinstance(value, x509.CertificatePolicies):
        return [_policy(policy) for policy in value]
    if isinstance(value, x509.NameConstraints):
        return {
            "permitted": [format_san(n) for n in value.permitted_subtrees or ()],
            "excluded": [format_san(n) for n in value.excluded_subtrees or ()],
        }
    if isinstance(value, x509.TLSFeature):
        return [feature.name for feature in value]
    if isinstance(value, x509.OCSPNoCheck):
        return True
    if isinstance(value, x509.UnrecognizedExtension):
        return {"der": value.value.hex()}
    if value.oid == ExtensionOID.PRECERT_POISON:
        return True
    return {"der": value.public_bytes().hex()}


def _policy(policy: x509.PolicyInformation) -> dict[str, Any]:
    described: dict[str, Any] = {"oid": policy.policy_identifier.dotted_string}
    for qualifier in policy.policy_qualifiers or ():
        if isinstance(qualifier, str):
            described.setdefault("cps", []).append(qualifier)
        elif qualifier.explicit_text:
            described["notice"] = qualifier.explicit_text
    return described


def key_summary(key: Any) -> str:
    """``RSA 3072``, ``EC secp256r1``, ``Ed25519``: a public key in a few words."""
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return type(key).__name__.removeprefix("_").removesuffix("PublicKey")
