"""Building and signing certificates: prepare (check and build) -> sign exactly once.

:func:`prepare` turns a :class:`CertificateRequest` into a
:class:`PreparedCertificate`, refusing anything the profile, key policy or
issuer forbids. The caller records the prepared certificate (its serial is
reserved in the database), then calls :meth:`PreparedCertificate.sign`, which
signs exactly that content, once. See docs/issuance-cycle.md.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, replace
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from chancery.domain.records import DistributionUrls
from chancery.domain.serials import SerialNumber
from chancery.errors import Conflict, Malformed
from chancery.keys.base import KeyHandle
from chancery.pki.extensions import (
    ExtensionInputs,
    build_extensions,
    issuer_extensions,
    issuer_key_identifier,
    key_identifier,
)
from chancery.pki.keypolicy import check_public_key, signature_hash
from chancery.pki.lint_copy import lint_copy
from chancery.pki.names import format_name
from chancery.pki.profiles.keys import check_key
from chancery.pki.profiles.model import Profile
from chancery.pki.profiles.san_policy import apply_sans
from chancery.pki.profiles.subject import subject_for
from chancery.pki.sans import format_san
from chancery.pki.spki import key_identifiers, sha256_key_identifier


@dataclass(frozen=True)
class Signer:
    """The issuing side: a CA's key and certificate, or a key signing itself.

    ``certificate`` is ``None`` only when self-signing a new root. ``urls`` go
    into every certificate this signer issues. ``remaining_path_length`` is how
    many CA levels may still sit below the signer (``None``: unconstrained,
    RFC 5280 §4.2.1.9). What never changes per signer is derived once.
    """

    key: KeyHandle
    certificate: x509.Certificate | None
    urls: DistributionUrls | None
    remaining_path_length: int | None = None

    @cached_property
    def algorithm(self) -> hashes.HashAlgorithm | None:
        return signature_hash(self.key.public_key())

    @cached_property
    def key_identifier(self) -> bytes:
        """What goes into the authorityKeyIdentifier of everything this signer issues."""
        if self.certificate is not None:
            return issuer_key_identifier(self.certificate)
        return key_identifier(self.key.public_key())

    def extensions_for(self, crl_partition: int | None) -> tuple[x509.Extension[x509.ExtensionType], ...]:
        """AKI, CRL distribution point (of the partition, if any) and AIA; only AKI when self-signing."""
        cache = self._extension_cache
        extensions = cache.get(crl_partition)
        if extensions is None:
            urls = self.urls if self.certificate is not None else None
            if urls is not None and crl_partition is not None:
                urls = replace(urls, crl=urls.partition_crl(crl_partition))
            extensions = cache[crl_partition] = issuer_extensions(self.key_identifier, urls)
        return extensions

    @cached_property
    def _extension_cache(self) -> dict[int | None, tuple[x509.Extension[x509.ExtensionType], ...]]:
        return {}

    @cached_property
    def validity_window(self) -> tuple[dt.datetime, dt.datetime] | None:
        """The issuer's own notBefore and notAfter (``None`` when self-signing)."""
        if self.certificate is None:
            return None
        return self.certificate.not_valid_before_utc, self.certificate.not_valid_after_utc


@dataclass(frozen=True)
class CertificateRequest:
    """What to certify: a subject, its public key and names, under a profile.

    ``subject`` and ``sans`` are what was asked for; the profile decides what is
    certified. ``extensions`` are the CSR's requested extensions (only those the
    profile lets through are copied).
    """

    subject: x509.Name
    public_key: PublicKeyTypes
    profile: Profile
    sans: tuple[x509.GeneralName, ...] = ()
    validity: dt.timedelta | None = None
    path_length: int | None = None
    extensions: tuple[x509.Extension[x509.ExtensionType], ...] = ()


class PreparedCertificate:
    """A checked, fully built certificate waiting for its one signature."""

    def __init__(
        self,
        builder: x509.CertificateBuilder,
        signer: Signer,
        algorithm: hashes.HashAlgorithm | None,
        facts: CertificateFacts,
    ) -> None:
        self._builder = builder
        self._signer = signer
        self._algorithm = algorithm
        self._lock = threading.Lock()
        self._signed = False
        self.facts = facts

    def sign(self) -> x509.Certificate:
        """Sign with the signer's key; a second call raises ``RuntimeError``."""
        with self._lock:
            if self._signed:
                raise RuntimeError("a prepared certificate is signed exactly once")
            self._signed = True
        return self._signer.key.sign_builder(self._builder, self._algorithm)

    def lint_copy(self) -> x509.Certificate:
        """The same certificate signed by a throwaway key (for linting and previews, never to hand out)."""
        return lint_copy(self._builder, self._signer.key.public_key(), self._algorithm)


@dataclass(frozen=True)
class CertificateFacts:
    """What the database records about a certificate before it is signed."""

    serial: SerialNumber
    subject: str
    sans: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    public_key_sha256: str
    profile: str
    profile_version: int | None = None
    crl_partition: int | None = None


def prepare(
    request: CertificateRequest,
    signer: Signer,
    serial: SerialNumber,
    now: dt.datetime,
    crl_partition: int | None = None,
) -> PreparedCertificate:
    """Hold ``request`` to its profile, the key policy and the issuer; build the certificate.

    ``crl_partition`` picks the CRL distribution point of a partitioned CA (RFC 5280 §5.2.5).

    Raises :class:`~chancery.errors.BadPublicKey`, :class:`~chancery.errors.RejectedIdentifier`
    (subject or names the profile refuses), :class:`Malformed` (validity, path
    length) or :class:`Conflict` (the issuer cannot issue this: path length
    exhausted, issuer expired).
    """
    profile = request.profile
    check_public_key(request.public_key)
    check_key(profile.keys, request.public_key, profile.ref)
    subject = subject_for(profile, request.subject)
    sans = apply_sans(profile.sans, request.sans, subject, profile.ref)
    path_length = _path_length(request, signer)
    not_before, not_after = _validity(request, signer, now)
    issuer_name = signer.certificate.subject if signer.certificate is not None else subject
    identifiers = key_identifiers(request.public_key)
    inputs = ExtensionInputs(
        profile=profile,
        subject_key=request.public_key,
        subject_key_identifier=_subject_key_identifier(profile, request.public_key, identifiers.key_identifier),
        sans=sans,
        subject_is_empty=len(subject) == 0,
        issuer_extensions=signer.extensions_for(crl_partition),
        path_length=path_length,
        requested=_passed_through(request, profile),
    )
    # One builder from all fields: the fluent API would copy the builder (and re-check
    # the extension list) once per call. Times are naive UTC, as pyca stores them.
    builder = x509.CertificateBuilder(
        issuer_name=issuer_name,
        subject_name=subject,
        public_key=request.public_key,  # type: ignore[arg-type]
        serial_number=serial.value,
        not_valid_before=not_before.replace(tzinfo=None),
        not_valid_after=not_after.replace(tzinfo=None),
        extensions=build_extensions(inputs),
    )
    facts = CertificateFacts(
        serial=serial,
        subject=format_name(subject),
        sans=tuple(format_san(name) for name in sans),
        not_before=not_before,
        not_after=not_after,
        public_key_sha256=identifiers.sha256,
        profile=profile.name,
        profile_version=profile.version,
        crl_partition=crl_partition,
    )
    return PreparedCertificate(builder, signer, _algorithm(profile, signer), facts)


def _subject_key_identifier(profile: Profile, key: PublicKeyTypes, sha1_identifier: bytes) -> bytes | None:
    if profile.subject_key_identifier == "sha1":
        return sha1_identifier  # RFC 5280 §4.2.1.2 method (1)
    if profile.subject_key_identifier == "sha256":
        return sha256_key_identifier(key)  # RFC 7093 §2 method (1)
    return None


def _passed_through(request: CertificateRequest, profile: Profile) -> tuple[x509.Extension[x509.ExtensionType], ...]:
    """The requested extensions the profile allows, unless the profile fixes the same extension."""
    if not profile.pass_through or not request.extensions:
        return ()
    fixed = {extension.oid for extension in profile.fixed_extensions}
    return tuple(e for e in request.extensions if e.oid in profile.pass_through and e.oid not in fixed)


def _algorithm(profile: Profile, signer: Signer) -> hashes.HashAlgorithm | None:
    """The profile's signature hash, or the signer's natural one; EdDSA has none (RFC 8410 §6)."""
    if profile.signature_hash is None or signer.algorithm is None:
        return signer.algorithm
    return _HASHES[profile.signature_hash]


_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


def _path_length(request: CertificateRequest, signer: Signer) -> int | None:
    """The pathLenConstraint (RFC 5280 §4.2.1.9): what the request asks for, else the profile's
    default, never more than the issuer allows below it."""
    if not request.profile.is_ca:
        return None
    limit = signer.remaining_path_length
    if signer.certificate is None:
        limit = None  # a root constrains nothing above itself
    if limit is not None and limit < 1:
        raise Conflict("the issuing CA's path length constraint allows no further CA below it (RFC 5280 §4.2.1.9)")
    wanted = request.path_length
    if wanted is not None and wanted < 0:
        raise Malformed("path length must be zero or positive")
    if wanted is None:
        default = request.profile.path_length
        if limit is None:
            return default
        return limit - 1 if default is None else min(default, limit - 1)
    if limit is not None and wanted > limit - 1:
        raise Conflict(f"path length {wanted} exceeds what the issuing CA allows ({limit - 1})")
    return wanted


def _validity(request: CertificateRequest, signer: Signer, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    profile = request.profile
    validity = request.validity if request.validity is not None else profile.default_validity
    if validity <= dt.timedelta(0):
        raise Malformed("validity must be positive")
    if validity > profile.max_validity:
        raise Malformed(
            f"validity of {validity.days} days exceeds the maximum of profile {profile.name} "
            f"({profile.max_validity.days} days)"
        )
    now = now.replace(microsecond=0)
    not_before = now - profile.backdate
    not_after = now + validity
    window = signer.validity_window
    if window is not None:
        # DESIGN.md invariant 7: validity never exceeds the issuer's notAfter.
        not_before = max(not_before, window[0])
        not_after = min(not_after, window[1])
        if not_after <= now:
            raise Conflict("the issuing CA's certificate has expired")
    return not_before, not_after
