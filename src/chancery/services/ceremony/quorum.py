"""M-of-N activation of the software key store: turning it on, and recording who unlocked it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.custodians import KeystoreQuorum, check_quorum
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.services.authorization import require
from chancery.services.ceremony.custodians import CustodianService, Quorum
from chancery.services.ceremony.ports import KeyQuorum
from chancery.services.ports import DurableWriter, Transactions


class KeyQuorumService:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        custodians: CustodianService,
        quorum: KeyQuorum,
        clock: Clock,
        unlocked_by: Callable[[], tuple[str, ...]] = tuple,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._custodians = custodians
        self._quorum = quorum
        self._clock = clock
        self._unlocked_by = unlocked_by

    def status(self, principal: Principal) -> KeystoreQuorum | None:
        require(principal, Permission.CA_READ)
        with self._tx.read() as uow:
            return uow.custodians.quorum()

    def required(self) -> KeystoreQuorum | None:
        """The quorum the key store needs, if any (no principal: asked before unlocking)."""
        with self._tx.read() as uow:
            return uow.custodians.quorum()

    def require(
        self, principal: Principal, custodians: tuple[str, ...], threshold: int, passphrases: Mapping[str, str]
    ) -> KeystoreQuorum:
        """From now on the key store opens only with ``threshold`` of ``custodians``' passphrases.

        Every custodian named is present: each share is sealed under its custodian's own
        passphrase, checked first against their enrolment. The store is re-keyed under a
        fresh secret that nobody knows; the old passphrase (or the old quorum) opens nothing
        afterwards. Run it with every server stopped.
        """
        require(principal, Permission.CA_MANAGE)
        check_quorum(custodians, threshold)
        everyone = Quorum(custodians, len(custodians), "splitting the key store's secret")
        self._custodians.authenticate(principal, everyone, passphrases)
        now = self._clock.now()
        details = {"custodians": list(custodians), "threshold": threshold}
        event = AuditEvent("keystore.quorum-required", principal.name, details=details)
        self._quorum.require({name: passphrases[name].encode() for name in custodians}, threshold, event, now)
        return KeystoreQuorum(threshold=threshold, custodians=custodians, created_at=now)

    def record_unlock(self, actor: str) -> None:
        """Audit who opened the key store, when custodians did (a server's start-up)."""
        custodians = self._unlocked_by()
        if custodians:
            event = AuditEvent("keystore.unlocked", actor, details={"custodians": list(custodians)})
            self._writer.run(lambda uow: uow.audit.append([event], self._clock.now()))
