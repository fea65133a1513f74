"""Enrolling key custodians and checking their passphrases.

A custodian's passphrase is checked against its Argon2id verifier (RFC 9106,
the parameters of :mod:`chancery.services.identity.passwords`). Every refused
passphrase and every refused quorum is audited before the refusal is raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent, Outcome
from chancery.domain.custodians import CustodianRecord, KeystoreQuorum, check_quorum, custodian_name
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.errors import Conflict, NotFound, Unauthorized
from chancery.services.authorization import require
from chancery.services.identity.passwords import Passwords, check_policy
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork


@dataclass(frozen=True)
class Quorum:
    """Who must be asked: ``threshold`` of ``custodians``, for ``purpose`` (audited)."""

    custodians: tuple[str, ...]
    threshold: int
    purpose: str


class CustodianService:
    def __init__(self, transactions: Transactions, writer: DurableWriter, clock: Clock, passwords: Passwords) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._passwords = passwords

    def enrol(self, principal: Principal, name: str, passphrase: str) -> CustodianRecord:
        """Enrol a custodian with the passphrase only they know (the password policy applies)."""
        require(principal, Permission.CA_MANAGE)
        custodian_name(name)
        check_policy(passphrase, name)
        record = CustodianRecord(name, self._passwords.hash(passphrase), self._clock.now(), principal.name)

        def add(uow: UnitOfWork) -> None:
            uow.custodians.add(record)
            uow.audit.append([AuditEvent("custodian.enrolled", principal.name, target=name)], record.created_at)

        self._writer.run(add)
        return record

    def remove(self, principal: Principal, name: str) -> None:
        """Remove a custodian; refused while they hold a share of the key store's secret."""
        require(principal, Permission.CA_MANAGE)

        def remove(uow: UnitOfWork) -> None:
            quorum = uow.custodians.quorum()
            if quorum is not None and name in quorum.custodians:
                raise Conflict(
                    f"custodian {name!r} holds a share of the key store's secret: re-split it among other "
                    "custodians first (`chancery keys require-quorum`)"
                )
            if not uow.custodians.remove(name):
                raise NotFound(f"no custodian named {name!r}")
            uow.audit.append([AuditEvent("custodian.removed", principal.name, target=name)], self._clock.now())

        self._writer.run(remove)

    def list(self, principal: Principal) -> tuple[tuple[CustodianRecord, ...], KeystoreQuorum | None]:
        """The enrolled custodians, and the key store's quorum when it requires one."""
        require(principal, Permission.CA_READ)
        with self._tx.read() as uow:
            return uow.custodians.list(), uow.custodians.quorum()

    def check_enrolled(self, names: tuple[str, ...]) -> None:
        """Raise :class:`NotFound` naming every custodian of ``names`` who is not enrolled."""
        with self._tx.read() as uow:
            missing = [name for name in names if uow.custodians.get(name) is None]
        if missing:
            raise NotFound(
                f"custodian(s) not enrolled: {', '.join(missing)} (enrol with `chancery ceremony custodian add NAME`)"
            )

    def authenticate(self, principal: Principal, quorum: Quorum, passphrases: Mapping[str, str]) -> tuple[str, ...]:
        """The custodians of ``quorum`` whose passphrases verify, at least ``threshold`` of them.

        Every passphrase given is checked: one wrong passphrase refuses the whole quorum
        (:class:`Unauthorized`, audited), as does a quorum too small.
        """
        check_quorum(quorum.custodians, quorum.threshold)
        self.check_enrolled(quorum.custodians)
        with self._tx.read() as uow:
            verifiers = {name: record.verifier for name in quorum.custodians if (record := uow.custodians.get(name))}
        authenticated: list[str] = []
        for name in quorum.custodians:
            given = passphrases.get(name)
            if not given:
                continue
            if not self._passwords.verify(verifiers.get(name), given):
                self._refuse(principal, quorum, f"custodian {name}'s passphrase is wrong", name)
            authenticated.append(name)
        if len(authenticated) < quorum.threshold:
            who = ", ".join(authenticated) or "none"
            self._refuse(
                principal,
                quorum,
                f"{quorum.purpose} needs {quorum.threshold} of the custodians {', '.join(quorum.custodians)}; "
                f"{len(authenticated)} authenticated ({who})",
                None,
            )
        return tuple(authenticated)

    def _refuse(self, principal: Principal, quorum: Quorum, detail: str, custodian: str | None) -> None:
        details = {"purpose": quorum.purpose, "threshold": quorum.threshold, "custodians": list(quorum.custodians)}
        event = AuditEvent(
            "custodian.authentication-failed" if custodian else "custodian.quorum-refused",
            principal.name,
            outcome=Outcome.FAILURE,
            target=custodian,
            details=details,
        )
        self._writer.run(lambda uow: uow.audit.append([event], self._clock.now()))
        raise Unauthorized(detail)
