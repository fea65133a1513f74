"""Submitting requests to an RA: CSRs (also anonymously, where the policy allows), server-side
key generation, renewals and revocations. Each is checked before it is recorded, recorded and
audited in one transaction, and carried out at once when its policy needs no approval."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.keytypes import KeyType
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.records import CertificateState
from chancery.domain.registration import (
    ANONYMOUS,
    ProfilePolicy,
    RaRecord,
    RequestKind,
    RequestRecord,
    RequestState,
    new_request_id,
)
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.errors import BadRevocationReason, Conflict, Forbidden, Malformed, NotFound, Unauthorized
from chancery.pki.csr import load_csr
from chancery.pki.describe import key_summary
from chancery.pki.names import format_name, parse_name
from chancery.pki.sans import format_san, parse_san
from chancery.services.authorization import allows, require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.profiles.preview import ProfilePreviews
from chancery.services.registration.authorities import check_email
from chancery.services.registration.changes import RequestChange, RequestNotifications
from chancery.services.registration.fulfilment import Fulfilment

MAX_NOTE = 1000


# Work a protocol adapter records in the request's own transaction (SCEP: the challenge it
# used and its transaction ID), so that either both are recorded or neither is.
AlongWith = Callable[[UnitOfWork, RequestRecord], None]


@dataclass(frozen=True)
class CsrSubmission:
    ra: str
    profile: str
    csr: bytes = field(repr=False)
    contact_email: str | None = None
    note: str = ""
    along_with: AlongWith | None = field(default=None, compare=False, repr=False)
    validity_days: int | None = None  # None: the profile's default (an ACME directory sets its own)


@dataclass(frozen=True)
class KeygenSubmission:
    """Server-side key generation: the requester collects the key once, as PKCS#12."""

    ra: str
    profile: str
    subject: str
    key_type: KeyType
    sans: tuple[str, ...] = ()
    contact_email: str | None = None
    note: str = ""


@dataclass(frozen=True)
class CertificateSubmission:
    """A renewal (same key and names) or a revocation of a certificate the RA's CA issued."""

    ra: str
    serial: str
    reason: RevocationReason | None = None  # revocations only
    note: str = ""


@dataclass(frozen=True)
class Submitted:
    request: RequestRecord
    pickup_token: str | None = field(default=None, repr=False)  # keygen: shown once, needed to collect the key


@dataclass(frozen=True)
class CsrSummary:
    """What a CSR asks for, as the portal shows it before submission."""

    subject: str
    sans: tuple[str, ...]
    key: str


class RequestIntake:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        previews: ProfilePreviews,
        fulfilment: Fulfilment,
        notifications: RequestNotifications,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._previews = previews
        self._fulfilment = fulfilment
        self._notifications = notifications

    def summarise(self, ra: str, profile: str, csr: bytes) -> CsrSummary:
        """Parse and check ``csr`` for ``profile`` at RA ``ra`` as submission would; nothing is recorded."""
        return self._summary(self._ra(ra), profile, csr)

    def _summary(self, record: RaRecord, profile: str, csr: bytes) -> CsrSummary:
        _policy(record, profile)
        self._previews.check(profile, record.ca, csr)  # the profile's DN, SAN and key rules
        verified = load_csr(csr)
        return CsrSummary(
            subject=format_name(verified.subject),
            sans=tuple(format_san(name) for name in verified.sans),
            key=key_summary(verified.public_key),
        )

    def submit_csr(self, principal: Principal | None, submission: CsrSubmission) -> Submitted:
        ra = self._ra(submission.ra)
        policy = _policy(ra, submission.profile)
        requester = _requester(principal, ra, submission.profile, policy)
        summary = self._summary(ra, submission.profile, submission.csr)
        der = load_csr(submission.csr).csr.public_bytes(Encoding.DER)
        request = self._new(ra, submission.profile, RequestKind.CSR, requester, policy, submission.note)
        request = replace(
            request,
            subject=summary.subject,
            sans=summary.sans,
            key_summary=summary.key,
            csr=der,
            contact_email=_email(submission.contact_email),
            validity_days=submission.validity_days,
        )
        return Submitted(self._record(ra, request, submission.along_with))

    def submit_keygen(self, principal: Principal | None, submission: KeygenSubmission) -> Submitted:
        ra = self._ra(submission.ra)
        policy = _policy(ra, submission.profile)
        requester = _requester(principal, ra, submission.profile, policy)
        subject = format_name(parse_name(submission.subject))
        if not subject:
            raise Malformed("a subject is needed, e.g. CN=alice,O=Example")
        sans = tuple(format_san(parse_san(text)) for text in submission.sans)
        token = secrets.token_urlsafe(24)
        request = self._new(ra, submission.profile, RequestKind.KEYGEN, requester, policy, submission.note)
        request = replace(
            request,
            subject=subject,
            sans=sans,
            key_summary=submission.key_type.value,
            key_type=submission.key_type.value,
            contact_email=_email(submission.contact_email),
            pickup_hash=pickup_hash(token),
        )
        return Submitted(self._record(ra, request), pickup_token=token)

    def submit_renewal(self, principal: Principal, submission: CertificateSubmission) -> Submitted:
        return self._about_certificate(principal, submission, RequestKind.RENEWAL)

    def submit_revocation(self, principal: Principal, submission: CertificateSubmission) -> Submitted:
        if submission.reason is None:
            raise BadRevocationReason("a revocation request needs a reason")
        if submission.reason is RevocationReason.removeFromCRL:
            raise BadRevocationReason("removeFromCRL is not a revocation reason")
        return self._about_certificate(principal, submission, RequestKind.REVOCATION)

    def _about_certificate(
        self, principal: Principal, submission: CertificateSubmission, kind: RequestKind
    ) -> Submitted:
        """Renewal and revocation: by the person who requested the certificate, or an officer."""
        ra = self._ra(submission.ra)
        serial = SerialNumber.from_hex(submission.serial)
        with self._tx.read() as uow:
            certificate = uow.certificates.get(ra.ca, serial)
            owner = _owner(uow, ra, serial.hex)
        if certificate is None or certificate.der is None:
            raise NotFound(f"no certificate {serial.hex} issued by CA {ra.ca!r}")
        policy = _policy(ra, certificate.profile)
        if certificate.state is not CertificateState.ISSUED:
            raise Conflict(f"certificate {serial.hex} is {certificate.state.value}")
        officer = allows(principal, Permission.CERT_ISSUE, ra.ca, certificate.profile, ra.name)
        if principal.name != owner and not officer:
            raise Forbidden(f"{principal.name} did not request certificate {serial.hex} through RA {ra.name}")
        if kind is RequestKind.REVOCATION:
            policy = ProfilePolicy(
                approvals=ra.revocation_approvals,
                approver_role=policy.approver_role,
                approver_group=policy.approver_group,
                lifetime_hours=policy.lifetime_hours,
            )
        cert = x509.load_der_x509_certificate(certificate.der)
        request = self._new(ra, certificate.profile, kind, principal.name, policy, submission.note)
        request = replace(
            request,
            subject=certificate.subject,
            sans=_sans_of(cert),
            key_summary=key_summary(cert.public_key()),
            target_serial=serial.hex,
            revocation_reason=submission.reason.name if submission.reason else None,
        )
        return Submitted(self._record(ra, request))

    def _new(
        self, ra: RaRecord, profile: str, kind: RequestKind, requester: str, policy: ProfilePolicy, note: str
    ) -> RequestRecord:
        if len(note) > MAX_NOTE:
            raise Malformed(f"the note is longer than {MAX_NOTE} characters")
        now = self._clock.now()
        return RequestRecord(
            request_id=new_request_id(),
            ra=ra.name,
            ca=ra.ca,
            profile=profile,
            kind=kind,
            state=RequestState.APPROVED if policy.approvals == 0 else RequestState.PENDING,
            decided_at=now if policy.approvals == 0 else None,
            requester=requester,
            submitted_at=now,
            expires_at=now + dt.timedelta(hours=policy.lifetime_hours),
            approvals_required=policy.approvals,
            reason=note,
        )

    def _record(self, ra: RaRecord, request: RequestRecord, along_with: AlongWith | None = None) -> RequestRecord:
        def add(uow: UnitOfWork) -> None:
            if along_with is not None:
                along_with(uow, request)
            uow.registration.add_request(request)
            details = {
                "kind": request.kind.value,
                "profile": request.profile,
                "subject": request.subject,
                "approvals_required": request.approvals_required,
            }
            if request.target_serial:
                details["serial"] = request.target_serial
            event = AuditEvent(
                "request.submitted", request.requester, ca=ra.ca, target=request.request_id, details=details
            )
            uow.audit.append([event], request.submitted_at)
            change = RequestChange(request, ra, "submitted", request.requester, request.submitted_at)
            self._notifications.record(uow, change)

        self._writer.run(add)
        self._notifications.wake()
        if request.state is RequestState.APPROVED:  # no approval needed: this submission claimed it
            return self._fulfilment.fulfil(request, ra)
        return request

    def _ra(self, name: str) -> RaRecord:
        with self._tx.read() as uow:
            record = uow.registration.get_ra(name)
        if record is None:
            raise NotFound(f"no RA named {name!r}")
        return record


def pickup_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _policy(ra: RaRecord, profile: str) -> ProfilePolicy:
    policy = ra.policy(profile)
    if policy is None:
        raise NotFound(f"RA {ra.name} does not take profile {profile!r}; it takes: {', '.join(ra.profiles)}")
    return policy


def _requester(principal: Principal | None, ra: RaRecord, profile: str, policy: ProfilePolicy) -> str:
    if principal is None:
        if not policy.allow_anonymous:
            raise Unauthorized(f"RA {ra.name} does not take anonymous requests for profile {profile}: log in first")
        return ANONYMOUS
    if not policy.allow_anonymous:
        require(principal, Permission.REQUEST_SUBMIT, ra.ca, profile, ra.name)
    return principal.name


def _owner(uow: UnitOfWork, ra: RaRecord, serial: str) -> str | None:
    """Who requested, through an RA of this RA's CA, the certificate ``serial`` (``None``: nobody known)."""
    request = uow.registration.issued_as(ra.ca, serial)
    return None if request is None or request.requester == ANONYMOUS else request.requester


def _email(address: str | None) -> str | None:
    return check_email(address) if address else None


def _sans_of(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(format_san(name) for name in names)
