"""Who signs each CA's OCSP responses: a delegated responder (RFC 6960 §4.2.2.2), issued
and rotated automatically, or the CA key itself when the CA is configured so."""

from __future__ import annotations

import datetime as dt
import threading

from cryptography import x509
from cryptography.x509.oid import NameOID

from chancery.clock import Clock
from chancery.domain.records import CAStatus
from chancery.domain.revocation_records import OcspSigning, ResponderRecord
from chancery.keys.base import KeyPurpose, KeyStore
from chancery.pki.encoding import to_der
from chancery.pki.issuer import CertificateRequest
from chancery.pki.ocsp import Responder
from chancery.services.authority.cycle import IssuanceCycle
from chancery.services.authority.signers import SignerDirectory
from chancery.services.ports import ClusterLock, DurableWriter, Transactions, UnitOfWork
from chancery.services.profiles.catalog import ProfileCatalog
from chancery.services.revocation.settings import RevocationSettingsService

# A responder certificate is replaced once less than this share of its life is left.
_RENEW_WHEN_LEFT = 1 / 3
RESPONDER_PROFILE = "ocsp-responder"


class ResponderDirectory:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        signers: SignerDirectory,
        keys: KeyStore,
        cycle: IssuanceCycle,
        profiles: ProfileCatalog,
        settings: RevocationSettingsService,
        lock: ClusterLock,
        clock: Clock,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._signers = signers
        self._keys = keys
        self._cycle = cycle
        self._profiles = profiles
        self._settings = settings
        self._lock = lock
        self._clock = clock
        self._cache: dict[str, tuple[dt.datetime, Responder]] = {}
        self._guard = threading.Lock()

    def responder(self, ca: str) -> Responder:
        """The signer of ``ca``'s responses now (issuing or renewing a delegated responder if due)."""
        now = self._clock.now()
        with self._guard:
            cached = self._cache.get(ca)
        if cached is not None and now < cached[0]:
            return cached[1]
        responder, renew_at = self._load(ca, now)
        with self._guard:
            self._cache[ca] = (renew_at, responder)
        return responder

    def rotate_due(self, ca: str) -> None:
        """Renew the delegated responder certificate when it is due (the maintenance loop calls this)."""
        self.responder(ca)

    def _load(self, ca: str, now: dt.datetime) -> tuple[Responder, dt.datetime]:
        active = self._signers.for_revocation(ca)
        settings = self._settings.effective(ca)
        # A retired CA issues nothing, not even a new responder certificate: it signs its own answers.
        if settings.ocsp_signing is OcspSigning.CA or active.record.status is CAStatus.RETIRED:
            return Responder(active.signer.key, active.certificate, delegated=False), now + dt.timedelta(minutes=5)
        with self._tx.read() as uow:
            record = uow.ocsp_responders.current(ca)
        if record is None or _due(record, now):
            with self._lock.hold(f"ocsp-responder:{ca}") as mine:
                if mine:
                    record = self._issue(ca)
                elif record is None:  # another node is issuing the first one: sign with the CA meanwhile
                    return Responder(active.signer.key, active.certificate, delegated=False), now
        assert record is not None
        certificate = x509.load_der_x509_certificate(record.certificate)
        renew_at = record.not_after - (record.not_after - record.created_at) * _RENEW_WHEN_LEFT
        return Responder(self._keys.load(record.key_id), certificate, delegated=True), renew_at

    def _issue(self, ca: str) -> ResponderRecord:
        active = self._signers.get(ca)
        key = self._keys.generate(active.record.key_type, KeyPurpose.OCSP)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"OCSP responder of {ca}"[:64])])
        request = CertificateRequest(
            subject=subject, public_key=key.public_key(), profile=self._profiles.get(RESPONDER_PROFILE)
        )
        issued = self._cycle.issue(ca, request)
        record = ResponderRecord(
            ca_name=ca,
            key_id=key.key_id,
            certificate=to_der(issued.certificate),
            not_after=issued.certificate.not_valid_after_utc,
            created_at=self._clock.now(),
        )

        def add(uow: UnitOfWork) -> None:
            uow.ocsp_responders.add(record)

        self._writer.run(add)
        return record


def _due(record: ResponderRecord, now: dt.datetime) -> bool:
    life = record.not_after - record.created_at
    return now >= record.not_after - life * _RENEW_WHEN_LEFT
