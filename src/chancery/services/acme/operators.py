"""The operator's view of ACME (REST and CLI): accounts, their orders, deactivating an account and
revoking every certificate it obtained. Authorised here (DESIGN.md invariant 9)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from chancery.clock import Clock
from chancery.domain.acme import AccountRecord, AccountStatus, DirectoryRecord, OrderRecord, OrderStatus
from chancery.domain.audit import AuditEvent
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.domain.revocation import RevocationReason
from chancery.errors import AlreadyRevoked, NotFound
from chancery.services.acme.directories import AcmeDirectories
from chancery.services.acme.revocation import AcmeRevoker
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork


@dataclass(frozen=True)
class RevokedAll:
    revoked: tuple[str, ...]
    already: tuple[str, ...]


class AcmeOperators:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        directories: AcmeDirectories,
        revoker: AcmeRevoker,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._directories = directories
        self._revoker = revoker

    def accounts(self, principal: Principal, directory: str) -> tuple[AccountRecord, ...]:
        self._require(principal, self._directories.get(directory), Permission.REQUEST_READ)
        with self._tx.read() as uow:
            return uow.acme.list_accounts(directory)

    def account(self, principal: Principal, account_id: str) -> AccountRecord:
        account = self._account(account_id)
        self._require(principal, self._directories.get(account.directory), Permission.REQUEST_READ)
        return account

    def orders(self, principal: Principal, account_id: str) -> tuple[OrderRecord, ...]:
        self.account(principal, account_id)
        with self._tx.read() as uow:
            return uow.acme.orders_of(account_id)

    def deactivate(self, principal: Principal, account_id: str) -> AccountRecord:
        account = self._account(account_id)
        ca = self._require(principal, self._directories.get(account.directory), Permission.ACME_MANAGE)
        now = self._clock.now()

        def save(uow: UnitOfWork) -> AccountRecord:
            uow.acme.update_account(account_id, status=AccountStatus.DEACTIVATED)
            event = AuditEvent(
                "acme.account.deactivated", principal.name, ca=ca, target=account_id, details={"by": "operator"}
            )
            uow.audit.append([event], now)
            return replace(account, status=AccountStatus.DEACTIVATED)

        return self._writer.run(save)

    def revoke_all(self, principal: Principal, account_id: str, reason: RevocationReason) -> RevokedAll:
        """Revoke every certificate the account obtained (each audited by the certificates service)."""
        account = self._account(account_id)
        directory = self._directories.get(account.directory)
        self._require(principal, directory, Permission.ACME_MANAGE)
        require(principal, Permission.CERT_REVOKE, self._directories.ca_of(directory), directory.profile)
        revoked: list[str] = []
        already: list[str] = []
        for order in self.orders(principal, account_id):
            if order.status is not OrderStatus.VALID or order.serial is None or order.ca is None:
                continue
            try:
                self._revoker.revoke_for_operator(directory.name, order.ca, order.serial, reason)
                revoked.append(order.serial)
            except AlreadyRevoked:
                already.append(order.serial)
        return RevokedAll(tuple(revoked), tuple(already))

    def _account(self, account_id: str) -> AccountRecord:
        with self._tx.read() as uow:
            account = uow.acme.get_account(account_id)
        if account is None:
            raise NotFound(f"no ACME account {account_id!r}")
        return account

    def _require(self, principal: Principal, directory: DirectoryRecord, permission: Permission) -> str:
        ca = self._directories.ca_of(directory)
        require(principal, permission, ca, None, directory.ra)
        return ca
