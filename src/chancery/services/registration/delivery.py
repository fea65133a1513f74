"""What a requester gets back, with nothing but the request ID: its status, the issued
certificate with its chain, and (server-side key generation) the key, once."""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent, Outcome
from chancery.domain.exports import ExportFormat
from chancery.domain.registration import RequestKind, RequestRecord, RequestState, normalise_request_id
from chancery.domain.serials import SerialNumber
from chancery.errors import Conflict, Forbidden, Malformed, NotFound
from chancery.keys.base import KeyStore, Pkcs12Request
from chancery.pki.encoding import to_pem, to_pkcs7
from chancery.services.certificates import MIN_PKCS12_PASSWORD
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.registration.intake import pickup_hash

MAX_PASSWORD = 1024
UNCOLLECTED_KEY_LIFETIME = dt.timedelta(days=7)


@dataclass(frozen=True)
class Pickup:
    request_id: str
    pickup_token: str = field(repr=False)
    password: str = field(repr=False)


class RequestDelivery:
    def __init__(self, transactions: Transactions, writer: DurableWriter, keys: KeyStore, clock: Clock) -> None:
        self._tx = transactions
        self._writer = writer
        self._keys = keys
        self._clock = clock

    def status(self, request_id: str) -> RequestRecord:
        """The request, for whoever holds its ID (80 random bits: the ID is the capability)."""
        canonical = normalise_request_id(request_id)
        with self._tx.read() as uow:
            request = uow.registration.get_request(canonical) if canonical else None
        if request is None:
            raise NotFound("no such request")
        return request

    def certificate(self, request_id: str, fmt: ExportFormat) -> bytes:
        """The issued certificate: PEM (certificate then chain), DER (the certificate) or P7B (all)."""
        request = self.status(request_id)
        if request.state is not RequestState.ISSUED or request.serial is None:
            raise Conflict(f"request {request.request_id} is {request.state.value}; nothing to download")
        certificate, chain = self._issued(request)
        if fmt is ExportFormat.DER:
            return certificate.public_bytes(Encoding.DER)
        if fmt is ExportFormat.PEM:
            return to_pem([certificate, *chain])
        if fmt is ExportFormat.P7B:
            return to_pkcs7([certificate, *chain])
        raise Malformed("the key is collected with the pickup token (pkcs12), not downloaded")

    def pickup_pkcs12(self, pickup: Pickup) -> bytes:
        """Server-side key generation: the key and certificate as PKCS#12 under the requester's
        password, once; the key is destroyed from the key store as it is handed over."""
        request = self.status(pickup.request_id)
        if request.kind is not RequestKind.KEYGEN or request.pickup_hash is None:
            raise Conflict(f"request {request.request_id} did not ask for a generated key")
        if not hmac.compare_digest(pickup_hash(pickup.pickup_token), request.pickup_hash):
            self._audit(request, "key.pickup-refused", Outcome.DENIED, {"reason": "wrong pickup token"})
            raise Forbidden("wrong pickup token")
        if not MIN_PKCS12_PASSWORD <= len(pickup.password) <= MAX_PASSWORD:
            raise Malformed(f"the PKCS#12 password must have {MIN_PKCS12_PASSWORD} to {MAX_PASSWORD} characters")
        if request.state is not RequestState.ISSUED:
            raise Conflict(f"request {request.request_id} is {request.state.value}; there is no key yet")
        now = self._clock.now()

        def claim(uow: UnitOfWork) -> bool:
            claimed = uow.registration.claim_pickup(request.request_id, now)
            if claimed:
                uow.audit.append([_event(request, "key.picked-up", Outcome.SUCCESS, {"format": "pkcs12"})], now)
            return claimed

        if request.key_id is None or not self._writer.run(claim):
            raise Conflict(f"the key of request {request.request_id} was collected already and no longer exists")
        certificate, chain = self._issued(request)
        try:
            return self._keys.export_pkcs12(
                request.key_id,
                Pkcs12Request(
                    certificate=certificate,
                    chain=chain,
                    password=pickup.password.encode("utf-8"),
                    friendly_name=request.subject or request.request_id,
                ),
            )
        finally:
            self._keys.destroy(request.key_id)

    def destroy_uncollected(self) -> int:
        """Destroy generated keys nobody collected within :data:`UNCOLLECTED_KEY_LIFETIME` of issuance
        (the maintenance loop runs this): a key waits for its requester, not for ever."""
        now = self._clock.now()
        with self._tx.read() as uow:
            due = uow.registration.uncollected_keys(now - UNCOLLECTED_KEY_LIFETIME)
        destroyed = 0
        for request_id in due:
            request = self.status(request_id)

            def claim(uow: UnitOfWork, request: RequestRecord = request) -> bool:
                if not uow.registration.claim_pickup(request.request_id, now):
                    return False
                details = {"reason": "not collected within 7 days"}
                uow.audit.append(
                    [_event(request, "key.destroyed-uncollected", Outcome.SUCCESS, details, "chancery")], now
                )
                return True

            if request.key_id is not None and self._writer.run(claim):
                self._keys.destroy(request.key_id)
                destroyed += 1
        return destroyed

    def _issued(self, request: RequestRecord) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
        with self._tx.read() as uow:
            record = uow.certificates.get(request.ca, SerialNumber.from_hex(request.serial or ""))
            authority = uow.authorities.get(request.ca)
        if record is None or record.der is None or authority is None or authority.certificate is None:
            raise NotFound(f"the certificate of request {request.request_id} is not in the database")
        chain = tuple(x509.load_der_x509_certificate(der) for der in (authority.certificate, *authority.chain))
        return x509.load_der_x509_certificate(record.der), chain

    def _audit(self, request: RequestRecord, action: str, outcome: Outcome, details: dict[str, object]) -> None:
        now = self._clock.now()
        self._writer.run(lambda uow: uow.audit.append([_event(request, action, outcome, details)], now))


def _event(
    request: RequestRecord, action: str, outcome: Outcome, details: dict[str, object], actor: str | None = None
) -> AuditEvent:
    return AuditEvent(action, actor or request.requester, outcome, request.ca, request.request_id, details)
