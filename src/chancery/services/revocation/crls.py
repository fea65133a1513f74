"""Publishing CRLs (RFC 5280 §5): full, delta (§5.2.4) and partitioned (§5.2.5).

CRLs are stored once made, served from the database, and made again when half
of their validity has passed (:meth:`CrlPublisher.refresh`, run by the
maintenance loop) or when none is valid. A full CRL streams the stored entries
of revoked certificates; a delta CRL reads only the revocation events since its
base. CRL numbers come from one increasing sequence per CA that is also at
least the current time in microseconds, so it keeps increasing after a restore.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.revocation_records import CrlRecord, CrlScope, RevocationSettings
from chancery.errors import NotFound, RateLimited
from chancery.pki.crl import CrlHeader, CrlKind, build_crl
from chancery.services.authority.signers import ActiveCA, SignerDirectory
from chancery.services.authorization import require
from chancery.services.ports import ClusterLock, DurableWriter, Transactions, UnitOfWork
from chancery.services.revocation.settings import RevocationSettingsService

_KIND = {CrlScope.FULL: CrlKind.FULL, CrlScope.DELTA: CrlKind.DELTA, CrlScope.PARTITION: CrlKind.PARTITION}


@dataclass(frozen=True)
class Published:
    """What one publication produced."""

    full: CrlRecord
    delta: CrlRecord
    partitions: tuple[CrlRecord, ...]


class CrlPublisher:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        signers: SignerDirectory,
        settings: RevocationSettingsService,
        lock: ClusterLock,
        clock: Clock,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._signers = signers
        self._settings = settings
        self._lock = lock
        self._clock = clock
        self._costs: dict[tuple[str, CrlScope], float] = {}  # seconds the last making took, per CA and kind

    # -- on demand ------------------------------------------------------------------------

    def publish(self, principal: Principal, ca: str) -> Published:
        """Make and store a new full CRL (its partitions) and a delta CRL now."""
        require(principal, Permission.CA_MANAGE, ca)
        published = self._publish_all(ca)
        if published is None:
            raise RateLimited("another node is publishing this CA's CRLs; try again in a moment", retry_after=2)
        return published

    def current(self, ca: str, scope: CrlScope, partition: int = -1) -> CrlRecord:
        """The CRL of a scope to serve now (public: no principal).

        Made first when there is none or it has expired, and made again when
        revocations happened since it was made, unless it is younger than ten
        times what making it costs: a small CA's CRLs are always current, a
        million-entry CRL is remade at most every few tens of seconds however
        often it is fetched (a delta CRL carries the news meanwhile).
        """
        settings = self._settings.effective(ca)
        if scope is CrlScope.PARTITION and not 0 <= partition < settings.partitions:
            raise NotFound(f"CA {ca!r} has no CRL partition {partition}")
        record = self._latest(ca, scope, partition)
        if record is None or record.next_update <= self._clock.now() or self._outdated(ca, scope, record):
            if scope is CrlScope.DELTA and record is not None and record.next_update > self._clock.now():
                self._publish_delta(ca)
            else:
                self._publish_all(ca)
            record = self._latest(ca, scope, partition) or record
            if record is None:
                raise RateLimited("the CRL is being published; try again in a moment", retry_after=2)
        return record

    def _outdated(self, ca: str, scope: CrlScope, record: CrlRecord) -> bool:
        with self._tx.read() as uow:
            newest_event = uow.revocation_events.latest_id(ca)
        if newest_event <= record.last_event_id:
            return False
        cost = self._costs.get((ca, CrlScope.DELTA if scope is CrlScope.DELTA else CrlScope.FULL), 0.0)
        return (self._clock.now() - record.this_update).total_seconds() >= 10 * cost

    # -- on schedule ----------------------------------------------------------------------

    def refresh(self, ca: str) -> None:
        """Publish what is due: a new full CRL after half its validity, a delta when revocations
        happened since the last one or after half its validity."""
        now = self._clock.now()
        full = self._latest(ca, CrlScope.FULL)
        if full is None or _half_gone(full, now):
            self._publish_all(ca)
            return
        delta = self._latest(ca, CrlScope.DELTA)
        with self._tx.read() as uow:
            newest_event = uow.revocation_events.latest_id(ca)
        if delta is None or delta.last_event_id < newest_event or _half_gone(delta, now):
            self._publish_delta(ca)

    def _publish_delta(self, ca: str) -> None:
        with self._lock.hold(f"crl:{ca}") as mine:
            full = self._latest(ca, CrlScope.FULL)
            if mine and full is not None:
                started = time.monotonic()
                self._store([self._make_delta(self._signers.for_revocation(ca), self._settings.effective(ca), full)])
                self._costs[(ca, CrlScope.DELTA)] = time.monotonic() - started

    # -- making ---------------------------------------------------------------------------

    def _publish_all(self, ca: str) -> Published | None:
        with self._lock.hold(f"crl:{ca}") as mine:
            if not mine:
                return None
            started = time.monotonic()
            active = self._signers.for_revocation(ca)
            settings = self._settings.effective(ca)
            now = self._clock.now().replace(microsecond=0)
            number = self._next_number(ca, now)
            full = self._make_full(active, settings, number, now, partition=None)
            partitions = tuple(
                self._make_full(active, settings, number + 1 + p, now, partition=p) for p in range(settings.partitions)
            )
            self._store([full, *partitions])
            self._costs[(ca, CrlScope.FULL)] = time.monotonic() - started
            delta = self._make_delta(active, settings, full)
            self._store([delta])
            return Published(full=full, delta=delta, partitions=partitions)

    def _make_full(
        self, active: ActiveCA, settings: RevocationSettings, number: int, now: dt.datetime, partition: int | None
    ) -> CrlRecord:
        urls = active.record.urls
        header = CrlHeader(
            issuer=active.certificate,
            crl_number=number,
            this_update=now,
            next_update=now + dt.timedelta(seconds=settings.crl_validity),
            kind=CrlKind.FULL if partition is None else CrlKind.PARTITION,
            distribution_point=urls.partition_crl(partition) if partition is not None else None,
            freshest_crl=urls.delta_crl if partition is None else None,
        )
        # Entries stay until one CRL issued after the certificate expired has listed them (§3.3).
        expired_since = now - dt.timedelta(seconds=settings.crl_validity)
        with self._tx.read() as uow:
            last_event = uow.revocation_events.latest_id(active.record.name)
            entries = uow.certificates.crl_entries(active.record.name, partition, expired_since)
            der = build_crl(active.signer.key, header, entries)
        return CrlRecord(
            ca_name=active.record.name,
            scope=CrlScope.FULL if partition is None else CrlScope.PARTITION,
            partition=-1 if partition is None else partition,
            crl_number=number,
            this_update=header.this_update,
            next_update=header.next_update,
            der=der,
            last_event_id=last_event,
        )

    def _make_delta(self, active: ActiveCA, settings: RevocationSettings, base: CrlRecord) -> CrlRecord:
        ca = active.record.name
        now = self._clock.now().replace(microsecond=0)
        with self._tx.read() as uow:
            events = uow.revocation_events.since(base.last_event_id, ca_name=ca)
        latest = {event.serial: event for event in events}  # the last change of each certificate counts
        header = CrlHeader(
            issuer=active.certificate,
            crl_number=self._next_number(ca, now),
            this_update=now,
            next_update=now + dt.timedelta(seconds=settings.delta_validity),
            kind=CrlKind.DELTA,
            base_crl_number=base.crl_number,
        )
        der = build_crl(active.signer.key, header, (event.crl_entry for event in latest.values()))
        return CrlRecord(
            ca_name=ca,
            scope=CrlScope.DELTA,
            partition=-1,
            crl_number=header.crl_number,
            this_update=header.this_update,
            next_update=header.next_update,
            der=der,
            last_event_id=max((event.event_id for event in events), default=base.last_event_id),
            base_crl_number=base.crl_number,
        )

    def _next_number(self, ca: str, now: dt.datetime) -> int:
        with self._tx.read() as uow:
            highest = uow.crls.highest_number(ca)
        return max(highest + 1, int(now.timestamp() * 1_000_000))

    def _store(self, records: list[CrlRecord]) -> None:
        def store(uow: UnitOfWork) -> None:
            for record in records:
                uow.crls.add(record)
            uow.crls.prune(records[0].ca_name)
            # The CA key signed these: each publication is audited (DESIGN.md invariant 5).
            events = [
                AuditEvent(
                    "crl.published",
                    "chancery",
                    ca=r.ca_name,
                    target=str(r.crl_number),
                    details={
                        "scope": r.scope.value,
                        "partition": r.partition,
                        "next_update": r.next_update.isoformat(),
                    },
                )
                for r in records
            ]
            uow.audit.append(events, records[0].this_update)

        self._writer.run(store)

    def _latest(self, ca: str, scope: CrlScope, partition: int = -1) -> CrlRecord | None:
        with self._tx.read() as uow:
            return uow.crls.latest(ca, scope, partition)


def _half_gone(record: CrlRecord, now: dt.datetime) -> bool:
    return now >= record.this_update + (record.next_update - record.this_update) / 2
