"""Issuing end-entity and CA certificates: from a CSR, with a generated key, renewal, re-key."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from chancery.domain.keytypes import KeyType
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.records import CertificateRecord, CertificateState
from chancery.domain.serials import SerialNumber
from chancery.errors import BadCSR, Conflict, Malformed, NotFound
from chancery.keys.base import KeyPurpose, KeyStore, Pkcs12Request
from chancery.pki.csr import load_csr
from chancery.pki.encoding import public_key_sha256
from chancery.pki.issuer import CertificateRequest
from chancery.pki.names import parse_name
from chancery.pki.profiles import Profile
from chancery.pki.sans import parse_san
from chancery.services.authority.cycle import IssuanceCycle, Issued, Provenance
from chancery.services.authority.requests import request_from_csr, validity
from chancery.services.authorization import require, require_on_ca
from chancery.services.certificates import MIN_PKCS12_PASSWORD
from chancery.services.ports import Transactions
from chancery.services.profiles.catalog import ProfileCatalog


@dataclass(frozen=True)
class IssueFromCsr:
    """Issue from a PKCS#10 request (PEM or DER)."""

    ca: str
    profile: str
    csr: bytes = field(repr=False)
    validity_days: int | None = None
    path_length: int | None = None


@dataclass(frozen=True)
class IssueWithNewKey:
    """Generate the key on the CA side and return it as PKCS#12 (server-side key generation)."""

    ca: str
    profile: str
    subject: str
    key_type: KeyType
    password: str = field(default="", repr=False)  # for the PKCS#12 of issue_with_new_key
    sans: tuple[str, ...] = ()
    validity_days: int | None = None


@dataclass(frozen=True)
class IssuedWithKey:
    issued: Issued
    pkcs12: bytes = field(repr=False)


class IssuanceService:
    def __init__(
        self, transactions: Transactions, cycle: IssuanceCycle, keys: KeyStore, profiles: ProfileCatalog
    ) -> None:
        self._tx = transactions
        self._cycle = cycle
        self._keys = keys
        self._profiles = profiles

    def issue_from_csr(self, principal: Principal, request: IssueFromCsr) -> Issued:
        """Check the CSR (proof of possession, key policy, names) and issue under the profile."""
        return self._cycle.issue(request.ca, self._from_csr(principal, request), Provenance(actor=principal.name))

    async def issue_from_csr_async(self, principal: Principal, request: IssueFromCsr) -> Issued:
        """:meth:`issue_from_csr` for the event loop (the REST API's hot path)."""
        return await self._cycle.issue_async(
            request.ca, self._from_csr(principal, request), Provenance(actor=principal.name)
        )

    def _from_csr(self, principal: Principal, request: IssueFromCsr) -> CertificateRequest:
        require(principal, Permission.CERT_ISSUE, request.ca, request.profile)
        profile = self.issuable_profile(request.profile)
        return request_from_csr(request.csr, profile, request.validity_days, request.path_length)

    def issuable_profile(self, name: str) -> Profile:
        """The newest version of a profile a request may name (root profiles only self-sign)."""
        profile = self._profiles.get(name)
        if not profile.issuable:
            raise Malformed(f"profile {name!r} is for self-signed roots; create one with `chancery ca create-root`")
        return profile

    def issue_with_new_key(self, principal: Principal, request: IssueWithNewKey) -> IssuedWithKey:
        """Generate a key in the key store, issue for it, return both as PKCS#12."""
        require(principal, Permission.KEY_EXPORT, request.ca, request.profile)
        if len(request.password) < MIN_PKCS12_PASSWORD:
            raise Malformed(f"the PKCS#12 password must have at least {MIN_PKCS12_PASSWORD} characters")
        issued = self.issue_for_new_key(principal, request)
        assert issued.record.key_id is not None
        pkcs12 = self._keys.export_pkcs12(
            issued.record.key_id,
            Pkcs12Request(
                certificate=issued.certificate,
                chain=issued.chain,
                password=request.password.encode(),
                friendly_name=issued.record.subject or issued.record.serial.hex,
            ),
        )
        return IssuedWithKey(issued=issued, pkcs12=pkcs12)

    def issue_for_new_key(self, principal: Principal, request: IssueWithNewKey) -> Issued:
        """Generate a key in the key store and issue for it; the key stays in the store (its id is
        on the record) until someone exports or destroys it. Nothing is kept when issuance fails."""
        require(principal, Permission.CERT_ISSUE, request.ca, request.profile)
        profile = self.issuable_profile(request.profile)
        if profile.is_ca:
            raise Malformed("CA keys are never generated for export; create the CA with `chancery ca` instead")
        subject = parse_name(request.subject)
        sans = tuple(parse_san(text) for text in request.sans)
        key = self._keys.generate(request.key_type, KeyPurpose.END_ENTITY)
        certificate_request = CertificateRequest(
            subject=subject,
            public_key=key.public_key(),
            profile=profile,
            sans=sans,
            validity=validity(request.validity_days),
        )
        try:
            return self._cycle.issue(
                request.ca, certificate_request, Provenance(key_id=key.key_id, actor=principal.name)
            )
        except Exception:
            self._keys.destroy(key.key_id)  # nothing was issued for it
            raise

    def renew(self, principal: Principal, ca: str, serial: SerialNumber, validity_days: int | None = None) -> Issued:
        """A new certificate for the same key, subject and names, with a new validity period,
        under the newest version of its profile."""
        require_on_ca(principal, Permission.CERT_ISSUE, ca)
        old, certificate = self._renewable(ca, serial)
        require(principal, Permission.CERT_ISSUE, ca, old.profile)
        request = CertificateRequest(
            subject=certificate.subject,
            public_key=certificate.public_key(),
            profile=self.issuable_profile(old.profile),
            sans=_sans_of(certificate),
            validity=validity(validity_days),
            path_length=_path_length_of(certificate),
            extensions=tuple(certificate.extensions),  # what the profile lets through is kept
        )
        return self._cycle.issue(
            ca, request, Provenance(key_id=old.key_id, renewal_of=old.serial, actor=principal.name)
        )

    def rekey(
        self, principal: Principal, ca: str, serial: SerialNumber, csr: bytes, validity_days: int | None = None
    ) -> Issued:
        """A new certificate for a new key (from ``csr``), keeping the subject and names."""
        require_on_ca(principal, Permission.CERT_ISSUE, ca)
        old, certificate = self._renewable(ca, serial)
        require(principal, Permission.CERT_ISSUE, ca, old.profile)
        parsed = load_csr(csr)
        if public_key_sha256(parsed.public_key) == old.public_key_sha256:
            raise BadCSR("the CSR carries the same key as the certificate: renew it instead of re-keying")
        request = CertificateRequest(
            subject=certificate.subject,
            public_key=parsed.public_key,
            profile=self.issuable_profile(old.profile),
            sans=_sans_of(certificate),
            validity=validity(validity_days),
            path_length=_path_length_of(certificate),
            extensions=tuple(certificate.extensions),  # what the profile lets through is kept
        )
        return self._cycle.issue(ca, request, Provenance(renewal_of=old.serial, actor=principal.name))

    def _renewable(self, ca: str, serial: SerialNumber) -> tuple[CertificateRecord, x509.Certificate]:
        with self._tx.read() as uow:
            old = uow.certificates.get(ca, serial)
        if old is None or old.der is None:
            raise NotFound(f"no certificate {serial} issued by CA {ca!r}")
        if old.state is not CertificateState.ISSUED:
            raise Conflict(f"certificate {serial} is {old.state.value}; only valid certificates are renewed")
        return old, x509.load_der_x509_certificate(old.der)


def _sans_of(certificate: x509.Certificate) -> tuple[x509.GeneralName, ...]:
    try:
        return tuple(certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return ()


def _path_length_of(certificate: x509.Certificate) -> int | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length
    except x509.ExtensionNotFound:
        return None
