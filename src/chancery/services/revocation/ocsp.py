"""The OCSP responder (RFC 6960, with the RFC 5019 lightweight profile for GET).

Requests without a nonce about one certificate are answered from pre-signed
responses: kept in memory (by the exact request bytes, then by CA, serial and
CertID hash), stored in the database so every node shares them, re-signed at
once when the certificate's revocation state changes and before they go stale.
Requests with a nonce (RFC 8954) or about several certificates are signed live.

Nodes follow each other through the revocation events table: at most every
``event_poll_seconds`` a node reads the newest event id and forgets cached
responses of certificates whose state changed elsewhere.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass

from chancery.clock import Clock
from chancery.domain.records import CertificateRecord, CertificateState
from chancery.domain.revocation import RevocationReason
from chancery.domain.revocation_records import OcspResponseRecord
from chancery.domain.serials import SerialNumber
from chancery.errors import CAError
from chancery.pki.ocsp import (
    HASHES,
    CertId,
    CertStatus,
    MalformedRequest,
    ResponseStatus,
    SingleResponse,
    error_response,
    issuer_hashes,
    make_cert_id,
    parse_request,
)
from chancery.services.authority.signers import SignerDirectory
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.revocation.responders import ResponderDirectory
from chancery.services.revocation.settings import RevocationSettingsService

log = logging.getLogger(__name__)

_Key = tuple[str, str, str]  # (CA, serial hex, CertID hash)
_State = tuple[str, int | None] | None  # (certificate state, revocation reason) a response was signed for
_ISSUER_RELOAD_SECONDS = 5.0
_RESIGN_ON_CHANGE_LIMIT = 100  # beyond this (bulk revocation) stored responses are dropped, not re-signed


@dataclass(frozen=True)
class OcspAnswer:
    """A DER OCSPResponse and, for pre-signed ones, the times caches may rely on (RFC 5019 §6.2)."""

    der: bytes
    this_update: dt.datetime | None = None
    next_update: dt.datetime | None = None


@dataclass(frozen=True)
class _Cached:
    answer: OcspAnswer
    refresh_after: dt.datetime  # half-way through its validity: sign anew after this


class OcspService:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        signers: SignerDirectory,
        responders: ResponderDirectory,
        settings: RevocationSettingsService,
        clock: Clock,
        *,
        cache_size: int = 100_000,
        event_poll_seconds: float = 0.05,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._signers = signers
        self._responders = responders
        self._settings = settings
        self._clock = clock
        self._cache_size = cache_size
        self._poll = event_poll_seconds
        self._by_request: OrderedDict[bytes, _Key] = OrderedDict()
        self._responses: dict[_Key, _Cached] = {}
        # None = not issued by this CA; remembered too, since an unknown serial may be asked for again
        self._certificates: OrderedDict[tuple[str, str], CertificateRecord | None] = OrderedDict()
        self._issuers: dict[tuple[str, bytes, bytes], str] = {}
        self._issuers_loaded = 0.0
        self._last_event_id: int | None = None
        self._last_poll = 0.0
        self._lock = threading.RLock()

    # -- answering --------------------------------------------------------------------------

    def answer(self, request: bytes) -> OcspAnswer:
        """Answer a DER OCSPRequest; errors are OCSP error responses, never exceptions."""
        try:
            self._follow_events()
            with self._lock:
                key = self._by_request.get(request)
                cached = self._responses.get(key) if key is not None else None
            if cached is not None and self._clock.now() < cached.refresh_after:
                return cached.answer
            try:
                parsed = parse_request(request)
            except MalformedRequest as exc:
                log.debug("malformed OCSP request: %s", exc)
                return OcspAnswer(error_response(ResponseStatus.MALFORMED_REQUEST))
            if parsed.nonce_extension is None and len(parsed.cert_ids) == 1:
                return self._presigned(request, parsed.cert_ids[0])
            return self._live(parsed.cert_ids, parsed.nonce_extension)
        except CAError as exc:  # a CA that cannot sign now, a locked key store...
            log.warning("OCSP: %s", exc.detail)
            return OcspAnswer(error_response(ResponseStatus.TRY_LATER))

    def _presigned(self, request: bytes, cert_id: CertId) -> OcspAnswer:
        ca = self._issuer_of(cert_id)
        if ca is None:
            return OcspAnswer(error_response(ResponseStatus.UNAUTHORIZED))
        key: _Key = (ca, format(cert_id.serial, "x"), cert_id.hash_algorithm)
        now = self._clock.now()
        with self._lock:
            cached = self._responses.get(key)
        if cached is None or now >= cached.refresh_after:
            with self._tx.read() as uow:
                stored = uow.ocsp_responses.get(*key)
            cached = self._cached(stored) if stored is not None else None
            if cached is None or now >= cached.refresh_after:
                signed = self._sign_stored(ca, cert_id.serial, cert_id.hash_algorithm, cert_id.der)
                # Stored for the other nodes; the answer does not wait for the commit.
                self._writer.submit(_PutResponses([signed])).add_done_callback(_log_failure)
                cached = self._cached(signed.record)
        self._remember(request, key, cached)
        return cached.answer

    def _live(self, cert_ids: tuple[CertId, ...], nonce: bytes | None) -> OcspAnswer:
        cas = [self._issuer_of(cert_id) for cert_id in cert_ids]
        signing_ca = next((ca for ca in cas if ca is not None), None)
        if signing_ca is None:
            return OcspAnswer(error_response(ResponseStatus.UNAUTHORIZED))
        now = self._clock.now().replace(microsecond=0)
        validity = dt.timedelta(seconds=self._settings.effective(signing_ca).ocsp_validity)
        singles = [
            self._status(signing_ca, cert_id.der, cert_id.serial, now, validity)
            if ca == signing_ca
            else SingleResponse(cert_id.der, CertStatus.UNKNOWN, now, now + validity)
            for ca, cert_id in zip(cas, cert_ids, strict=True)
        ]
        return OcspAnswer(self._responders.responder(signing_ca).respond(singles, now, nonce))

    # -- signing ------------------------------------------------------------------------------

    def _sign_stored(self, ca: str, serial: int, algorithm: str, cert_id: bytes) -> _Signed:
        now = self._clock.now().replace(microsecond=0)
        validity = dt.timedelta(seconds=self._settings.effective(ca).ocsp_validity)
        single, state = self._status_and_state(ca, cert_id, serial, now, validity)
        der = self._responders.responder(ca).respond([single], now)
        record = OcspResponseRecord(
            ca_name=ca,
            serial=format(serial, "x"),
            hash_algorithm=algorithm,
            cert_id=cert_id,
            der=der,
            this_update=now,
            next_update=now + validity,
        )
        return _Signed(record, state)

    def _status(self, ca: str, cert_id: bytes, serial: int, now: dt.datetime, validity: dt.timedelta) -> SingleResponse:
        """good, revoked (time and reason) or unknown (never issued by this CA), RFC 6960 §2.2."""
        return self._status_and_state(ca, cert_id, serial, now, validity)[0]

    def _status_and_state(
        self, ca: str, cert_id: bytes, serial: int, now: dt.datetime, validity: dt.timedelta
    ) -> tuple[SingleResponse, _State]:
        try:
            number = SerialNumber(serial)
        except ValueError:
            return SingleResponse(cert_id, CertStatus.UNKNOWN, now, now + validity), None
        record = self._certificate(ca, number)
        if record is None:
            return SingleResponse(cert_id, CertStatus.UNKNOWN, now, now + validity), None
        state: _State = (record.state.value, record.revocation.reason.value if record.revocation else None)
        if record.state is CertificateState.RESERVED:
            return SingleResponse(cert_id, CertStatus.UNKNOWN, now, now + validity), state
        if record.revocation is not None:
            reason = record.revocation.reason
            single = SingleResponse(
                cert_id,
                CertStatus.REVOKED,
                now,
                now + validity,
                revoked_at=record.revocation.revoked_at,
                reason=None if reason is RevocationReason.unspecified else reason,
            )
            return single, state
        return SingleResponse(cert_id, CertStatus.GOOD, now, now + validity), state

    def _certificate(self, ca: str, serial: SerialNumber) -> CertificateRecord | None:
        """The certificate, remembered until its revocation state changes (events are followed)."""
        key = (ca, serial.hex)
        with self._lock:
            if key in self._certificates:
                self._certificates.move_to_end(key)
                return self._certificates[key]
        with self._tx.read() as uow:
            record = uow.certificates.get(ca, serial)
        if record is not None and record.state is CertificateState.RESERVED:
            return record  # about to be issued: do not remember
        with self._lock:
            self._certificates[key] = record
            while len(self._certificates) > self._cache_size:
                self._certificates.popitem(last=False)
        return record

    # -- keeping fresh --------------------------------------------------------------------------

    def revocations_changed(self, ca_name: str, serials: list[str]) -> None:
        """Re-sign (or, for a bulk change, drop) the stored responses of these certificates now."""
        self._forget(ca_name, serials)
        if len(serials) > _RESIGN_ON_CHANGE_LIMIT:
            self._writer.run(_DropResponses(ca_name, serials))
            return
        with self._tx.read() as uow:
            stored = [record for serial in serials for record in uow.ocsp_responses.for_serial(ca_name, serial)]
        fresh = [self._sign_stored(r.ca_name, int(r.serial, 16), r.hash_algorithm, r.cert_id) for r in stored]
        if fresh:
            self._writer.run(_PutResponses(fresh))
            with self._lock:
                for signed in fresh:
                    record = signed.record
                    self._responses[(record.ca_name, record.serial, record.hash_algorithm)] = self._cached(record)

    def presign_new(self, since: dt.datetime, limit: int = 5000) -> int:
        """Sign responses ahead of any request for certificates issued since ``since`` (SHA-1 CertIDs,
        as RFC 5019 clients send them); the maintenance loop calls this."""
        with self._tx.read() as uow:
            pending = uow.ocsp_responses.unsigned_since(since, "sha1", limit)
        fresh = []
        for ca, serial_hex in pending:
            try:
                issuer = self._signers.for_revocation(ca).certificate
            except CAError:
                continue
            serial = int(serial_hex, 16)
            fresh.append(self._sign_stored(ca, serial, "sha1", make_cert_id(issuer, serial, "sha1")))
        if fresh:
            self._writer.run(_PutResponses(fresh))
        return len(fresh)

    def refresh_stale(self, limit: int = 1000) -> int:
        """Re-sign stored responses past half their validity (the maintenance loop calls this)."""
        now = self._clock.now()
        with self._tx.read() as uow:
            candidates = uow.ocsp_responses.stale(now + dt.timedelta(days=5), limit)
        due = [record for record in candidates if now >= self._cached(record).refresh_after]
        fresh = [self._sign_stored(r.ca_name, int(r.serial, 16), r.hash_algorithm, r.cert_id) for r in due]
        if fresh:
            self._writer.run(_PutResponses(fresh))
            self._forget_keys([(s.record.ca_name, s.record.serial, s.record.hash_algorithm) for s in fresh])
        return len(fresh)

    def _follow_events(self) -> None:
        """Forget cached responses of certificates whose state changed (on any node)."""
        moment = time.monotonic()
        if moment - self._last_poll < self._poll:
            return
        self._last_poll = moment
        with self._tx.read() as uow:
            newest = uow.revocation_events.latest_id()
            if self._last_event_id is not None and newest > self._last_event_id:
                changed = uow.revocation_events.since(self._last_event_id)
            else:
                changed = []
        for event in changed:
            self._forget(event.ca_name, [event.serial])
        self._last_event_id = newest

    # -- caches ---------------------------------------------------------------------------------

    def _cached(self, record: OcspResponseRecord) -> _Cached:
        half = (record.next_update - record.this_update) / 2
        return _Cached(OcspAnswer(record.der, record.this_update, record.next_update), record.this_update + half)

    def _remember(self, request: bytes, key: _Key, cached: _Cached) -> None:
        with self._lock:
            self._responses[key] = cached
            self._by_request[request] = key
            self._by_request.move_to_end(request)
            while len(self._by_request) > self._cache_size:
                _, old_key = self._by_request.popitem(last=False)
                self._responses.pop(old_key, None)

    def _forget(self, ca_name: str, serials: list[str]) -> None:
        with self._lock:
            for serial in serials:
                self._certificates.pop((ca_name, serial), None)
        self._forget_keys([(ca_name, serial, algorithm) for serial in serials for algorithm in HASHES.values()])

    def _forget_keys(self, keys: list[_Key]) -> None:
        with self._lock:
            for key in keys:
                self._responses.pop(key, None)

    def _issuer_of(self, cert_id: CertId) -> str | None:
        """The CA a CertID names (by the hashes of its name and key, RFC 6960 §4.1.1)."""
        lookup = (cert_id.hash_algorithm, cert_id.issuer_name_hash, cert_id.issuer_key_hash)
        found = self._issuers.get(lookup)
        moment = time.monotonic()
        age = moment - self._issuers_loaded
        if (found is None and age > 1.0) or age > _ISSUER_RELOAD_SECONDS:
            self._load_issuers()
            found = self._issuers.get(lookup)
        return found

    def _load_issuers(self) -> None:
        issuers: dict[tuple[str, bytes, bytes], str] = {}
        with self._tx.read() as uow:
            names = [record.name for record in uow.authorities.list() if record.publishes_revocation]
        for name in names:
            try:
                certificate = self._signers.for_revocation(name).certificate
            except CAError:
                continue
            for algorithm in HASHES.values():
                name_hash, key_hash = issuer_hashes(certificate, algorithm)
                issuers[(algorithm, name_hash, key_hash)] = name
        self._issuers = issuers
        self._issuers_loaded = time.monotonic()


def _log_failure(future: Future[None]) -> None:
    if future.exception() is not None:
        log.warning("storing a pre-signed OCSP response failed: %s", future.exception())


@dataclass(frozen=True)
class _Signed:
    """A response and the certificate state it was signed for."""

    record: OcspResponseRecord
    state: _State


@dataclass(frozen=True)
class _PutResponses:
    """Store responses whose certificate is still in the state they were signed for.

    A revocation that commits while a node is signing makes that response stale;
    reading the state in the storing transaction (under a share lock on
    PostgreSQL; SQLite writers are serial) means a stale response is never stored
    after the revoking node re-signed the stored ones.
    """

    signed: list[_Signed]

    def __call__(self, uow: UnitOfWork) -> None:
        current = [
            s.record
            for s in self.signed
            if uow.certificates.revocation_state(s.record.ca_name, SerialNumber(int(s.record.serial, 16))) == s.state
        ]
        uow.ocsp_responses.put_many(current)


@dataclass(frozen=True)
class _DropResponses:
    ca_name: str
    serials: list[str]

    def __call__(self, uow: UnitOfWork) -> None:
        uow.ocsp_responses.delete_for(self.ca_name, self.serials)
