"""SCEP PKIOperation (RFC 8894 §3.3): enrollment, renewal, polling, GetCert and GetCRL over the RA.

Every pkiMessage is checked before anything is recorded: its signature and attributes
(``pki.scep``), that its senderNonce was never seen (a replay), and that the envelope was
made for this RA's certificate. A PKCSReq then needs a one-time challenge and becomes an
ordinary RA request (submitted as ``scep:RA``), so approvals, audit and notifications are
the RA's; a RenewalReq is signed by the device's current certificate instead. The answer
is a CertRep signed by the RA key through the key store: SUCCESS with the certificate,
PENDING while officers decide (the device polls with CertPoll), or FAILURE with a failInfo.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent, Outcome
from chancery.domain.principals import Grant, Principal, Role
from chancery.domain.registration import RaRecord, RequestRecord, RequestState
from chancery.domain.scep import ScepService, ScepTransaction
from chancery.errors import CAError, Malformed, RateLimited
from chancery.keys.base import KeyHandle
from chancery.pki.scep import (
    CertRep,
    CipherPolicy,
    FailInfo,
    MessageType,
    PkiMessage,
    PkiStatus,
    ScepError,
    build_cert_rep,
    envelope_cipher,
    open_envelope,
    parse_pki_message,
)
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.registration.delivery import RequestDelivery
from chancery.services.registration.intake import CsrSubmission, RequestIntake
from chancery.services.scep.challenges import ChallengeGate, ChallengeRefused
from chancery.services.scep.directory import ScepDirectory
from chancery.services.scep.lookups import ScepLookups
from chancery.services.scep.requests import EnrollmentRequest, read_enrollment

MAX_MESSAGE_BYTES = 256 * 1024
_REPLY_CIPHERS = frozenset({"aes128", "aes256", "3des"})


class EnvelopeKeys(Protocol):
    """The key store as SCEP needs it: the RA key signs CertReps and opens envelopes."""

    def load(self, key_id: str) -> KeyHandle: ...
    def decrypt_key_transport(self, key_id: str, ciphertext: bytes) -> bytes: ...


class Replayed(Malformed):
    """The message's senderNonce was seen before."""


@dataclass(frozen=True)
class _Context:
    service: ScepService
    ra: RaRecord
    ra_certificate: x509.Certificate
    message: PkiMessage
    source: str


class ScepEnrollment:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        directory: ScepDirectory,
        intake: RequestIntake,
        delivery: RequestDelivery,
        keys: EnvelopeKeys,
        lookups: ScepLookups,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._directory = directory
        self._intake = intake
        self._delivery = delivery
        self._keys = keys
        self._lookups = lookups
        self.gate = ChallengeGate(clock)

    def operation(self, ra: str | None, body: bytes, source: str) -> bytes:
        """Answer one PKIOperation with a CertRep (DER). A message too broken to answer in CMS raises
        :class:`ScepError` (HTTP 400); too many wrong challenges from ``source`` raise ``RateLimited``."""
        answering = self._directory.answering(ra)
        service, record = answering.service, answering.ra
        try:
            message = parse_pki_message(body, MAX_MESSAGE_BYTES)
        except ScepError as error:
            self._refused(record, service, None, source, error.detail)
            raise
        context = _Context(service, record, answering.certificate, message, source)
        try:
            rep = self._dispatch(context)
        except ScepError as error:
            self._refused(record, service, message, source, error.detail)
            rep = self._failure(message, error.fail_info)
        except RateLimited as limited:  # HTTP 429: too many wrong challenges from this address
            self._refused(record, service, message, source, limited.detail)
            raise
        return self._sign(context, rep)

    # -- by message type (RFC 8894 §3.3) ------------------------------------------------------

    def _dispatch(self, context: _Context) -> CertRep:
        kind = context.message.message_type
        if kind in (MessageType.PKCS_REQ, MessageType.RENEWAL_REQ):
            return self._enroll(context)
        self._note_nonce(context)
        content = self._open(context)
        if kind is MessageType.CERT_POLL:
            return self._poll(context)
        if kind is MessageType.GET_CERT:
            return self._lookups.get_cert(context.ra, content, self._reply_to(context.message))
        if kind is MessageType.GET_CRL:
            return self._lookups.get_crl(context.ra, content, self._reply_to(context.message))
        raise ScepError(FailInfo.BAD_REQUEST, f"messageType {int(kind)} is not a request")

    def _enroll(self, context: _Context) -> CertRep:
        message = context.message
        renewal = message.message_type is MessageType.RENEWAL_REQ
        if not renewal:
            self.gate.admit(context.source)  # before any work: a guesser is refused cheaply
        enrollment = read_enrollment(self._open(context), message.signer_certificate, same_key=not renewal)
        if renewal:
            self._lookups.check_renewal(context.ra, message.signer_certificate, enrollment)
        # A transaction is bound to the key that signs its messages (RFC 8894 §3.2.1.1.1): the
        # enrolled key for a PKCSReq, the current certificate's for a RenewalReq; polls must match.
        key_digest = _key_digest(_spki(message.signer_certificate))
        with self._tx.read() as uow:
            known = uow.scep.transaction(context.service.ra, message.transaction_id)
        if known is not None:
            if known.key_digest != key_digest:
                raise ScepError(FailInfo.BAD_REQUEST, "the transactionID belongs to another key")
            earlier = self._delivery.status(known.request_id)
            # The device sent its request again: while it waits, or (micromdm) after PENDING, once decided
            # (RFC 8894 §3.3.1). Anything else under the same transactionID is a new enrollment of the key:
            # a transactionID is a hash of the key (§3.2.1.1.1), so renewals and re-enrollments reuse it.
            if not earlier.state.final or (
                known.message_type == message.message_type and earlier.csr == enrollment.csr_der
            ):
                self._note_nonce(context, resend=True)
                return self._answered(context, self._reply(message, earlier))
        try:
            request = self._submit(context, enrollment, key_digest, renewal, replaces=known is not None)
        except ChallengeRefused as refused:
            self.gate.failed(context.source)
            raise ScepError(FailInfo.BAD_REQUEST, f"challenge refused: {refused.reason}") from None
        except Replayed as replay:
            raise ScepError(FailInfo.BAD_REQUEST, replay.detail) from None
        except ScepError:
            raise
        except CAError as refused:  # the RA or the profile refused the request (subject, names, key)
            raise ScepError(FailInfo.BAD_REQUEST, refused.detail) from None
        return self._answered(context, self._reply(message, request))

    def _answered(self, context: _Context, rep: CertRep) -> CertRep:
        """micromdm's client sends the very same message again after PENDING (instead of CertPoll):
        a message answered PENDING may come back, and gets the request's state then, never more."""
        if rep.status is PkiStatus.PENDING:
            nonce = context.message.sender_nonce.hex()
            self._writer.run(lambda uow: uow.scep.allow_repeat(context.service.ra, nonce))
        return rep

    def _submit(
        self, context: _Context, enrollment: EnrollmentRequest, key_digest: str, renewal: bool, replaces: bool
    ) -> RequestRecord:
        message = context.message

        def along_with(uow: UnitOfWork, request: RequestRecord) -> None:
            _note_nonce(uow, context, self._clock)
            if not renewal:
                if enrollment.challenge is None:
                    raise ChallengeRefused("no challengePassword in the request")
                self.gate.use(uow, context.service.ra, enrollment.challenge, enrollment.subject)
            transaction = ScepTransaction(
                context.service.ra,
                message.transaction_id,
                key_digest,
                request.request_id,
                self._clock.now(),
                int(message.message_type),
            )
            uow.scep.add_transaction(transaction, replace=replaces)

        note = f"SCEP {'RenewalReq' if renewal else 'PKCSReq'} from {context.source}, transactionID {message.transaction_id}"
        submission = CsrSubmission(
            context.service.ra, context.service.profile, enrollment.csr_der, note=note[:1000], along_with=along_with
        )
        return self._intake.submit_csr(scep_principal(context.ra), submission).request

    def _poll(self, context: _Context) -> CertRep:
        message = context.message
        with self._tx.read() as uow:
            known = uow.scep.transaction(context.service.ra, message.transaction_id)
        if known is None or known.key_digest != _key_digest(_spki(message.signer_certificate)):
            raise ScepError(FailInfo.BAD_CERT_ID, "no enrollment with this transactionID for this key")
        return self._reply(message, self._delivery.status(known.request_id))

    # -- helpers ---------------------------------------------------------------------------

    def _open(self, context: _Context) -> bytes:
        service = context.service
        policy = CipherPolicy(allow_3des=service.allow_3des, allow_des=service.allow_des)
        return open_envelope(
            context.message.enveloped_data,
            context.ra_certificate,
            lambda encrypted: self._keys.decrypt_key_transport(service.key_id, encrypted),
            policy,
        )

    def _note_nonce(self, context: _Context, resend: bool = False) -> None:
        try:
            self._writer.run(lambda uow: _note_nonce(uow, context, self._clock, resend))
        except Replayed as replay:
            raise ScepError(FailInfo.BAD_REQUEST, replay.detail) from None

    def _reply(self, message: PkiMessage, request: RequestRecord) -> CertRep:
        if request.state is RequestState.ISSUED:
            return self._lookups.issued(request, self._reply_to(message))
        if request.state in (RequestState.PENDING, RequestState.APPROVED):
            return CertRep(
                message.transaction_id,
                message.sender_nonce,
                PkiStatus.PENDING,
                digest_algorithm=message.digest_algorithm,
            )
        return self._failure(message, FailInfo.BAD_REQUEST)

    def _reply_to(self, message: PkiMessage) -> CertRep:
        """A SUCCESS skeleton for ``message``, answered in the digest the client used and in its cipher
        (AES-256 for a DES client: single DES is never sent, RFC 8894 §3.5.2)."""
        cipher = envelope_cipher(message.enveloped_data)
        return CertRep(
            message.transaction_id,
            message.sender_nonce,
            PkiStatus.SUCCESS,
            recipient=message.signer_certificate,
            digest_algorithm=message.digest_algorithm,
            cipher=cipher if cipher in _REPLY_CIPHERS else "aes256",
        )

    def _failure(self, message: PkiMessage, fail_info: FailInfo) -> CertRep:
        return CertRep(
            message.transaction_id,
            message.sender_nonce,
            PkiStatus.FAILURE,
            fail_info=fail_info,
            digest_algorithm=message.digest_algorithm,
        )

    def _sign(self, context: _Context, rep: CertRep) -> bytes:
        key = self._keys.load(context.service.key_id)
        return build_cert_rep(rep, key, context.ra_certificate)

    def _refused(
        self, ra: RaRecord, service: ScepService, message: PkiMessage | None, source: str, reason: str
    ) -> None:
        details: dict[str, object] = {"reason": reason[:300], "source": source}
        if message is not None:
            details["message_type"] = message.message_type.name
            details["transaction_id"] = message.transaction_id[:128]
        event = AuditEvent("scep.refused", f"scep:{service.ra}", Outcome.FAILURE, ra.ca, service.ra, details)
        now = self._clock.now()
        self._writer.run(lambda uow: uow.audit.append([event], now))


def scep_principal(ra: RaRecord) -> Principal:
    """Who submits SCEP enrollments to the RA: a requester on that RA only."""
    return Principal(
        name=f"scep:{ra.name}", grants=frozenset({Grant(Role.REQUESTER, ca=ra.ca, ra=ra.name)}), kind="system"
    )


def _note_nonce(uow: UnitOfWork, context: _Context, clock: Clock, resend: bool = False) -> None:
    # RFC 8894 §3.2.1.5: a senderNonce is fresh for every message; one seen before is a replay,
    # unless it is a request we answered PENDING being asked again (see ScepEnrollment._answered).
    nonce = context.message.sender_nonce.hex()
    fresh = uow.scep.note_nonce(context.service.ra, nonce, clock.now())
    if not fresh and not (resend and uow.scep.repeatable(context.service.ra, nonce)):
        raise Replayed("this senderNonce was seen before: the message is a replay")


def _key_digest(spki_der: bytes) -> str:
    return hashlib.sha256(spki_der).hexdigest()


def _spki(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
