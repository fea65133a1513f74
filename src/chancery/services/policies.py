"""Run-time policies an administrator sets: dual control and account lockout.

Making control stricter (more approvals, a lower lockout threshold) takes
effect at once; relaxing it is itself a sensitive operation (dual control).
"""

from __future__ import annotations

from dataclasses import dataclass

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.errors import Malformed
from chancery.services.approvals import (
    APPROVALS_POLICY,
    DEFAULT_EXPIRY_HOURS,
    EXPIRY_POLICY,
    MAX_APPROVALS,
    DualControl,
)
from chancery.services.authorization import require
from chancery.services.identity.authentication import (
    DEFAULT_LOCKOUT_MINUTES,
    DEFAULT_LOCKOUT_THRESHOLD,
    LOCKOUT_MINUTES_POLICY,
    LOCKOUT_THRESHOLD_POLICY,
)
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork


@dataclass(frozen=True)
class PolicyRule:
    name: str
    default: int
    low: int
    high: int
    stricter_when_higher: bool  # is raising the value stricter?
    meaning: str


RULES = {
    rule.name: rule
    for rule in (
        PolicyRule(
            APPROVALS_POLICY,
            0,
            0,
            MAX_APPROVALS,
            True,
            "approvals from other administrators a sensitive operation needs (0: off)",
        ),
        PolicyRule(
            EXPIRY_POLICY, DEFAULT_EXPIRY_HOURS, 1, 24 * 14, False, "hours a pending operation waits for approval"
        ),
        PolicyRule(
            LOCKOUT_THRESHOLD_POLICY,
            DEFAULT_LOCKOUT_THRESHOLD,
            0,
            100,
            False,
            "failed logins that lock an account (0: never)",
        ),
        PolicyRule(
            LOCKOUT_MINUTES_POLICY, DEFAULT_LOCKOUT_MINUTES, 1, 24 * 60, True, "minutes an account stays locked"
        ),
    )
}


class PolicyService:
    def __init__(
        self, transactions: Transactions, writer: DurableWriter, clock: Clock, dual_control: DualControl
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._dual = dual_control

    def current(self, principal: Principal) -> dict[str, int]:
        require(principal, Permission.USER_READ)
        with self._tx.read() as uow:
            stored = uow.policies.all()
        return {name: int(stored.get(name, rule.default)) for name, rule in RULES.items()}

    def set(self, principal: Principal, name: str, value: int) -> None:
        require(principal, Permission.POLICY_MANAGE)
        rule = RULES.get(name)
        if rule is None:
            raise Malformed(f"unknown policy {name[:64]!r}; policies: {', '.join(RULES)}")
        if not rule.low <= value <= rule.high:
            raise Malformed(f"{name} must be between {rule.low} and {rule.high}")
        old = self.current(principal)[name]
        relaxing = value < old if rule.stricter_when_higher else value > old
        if name == LOCKOUT_THRESHOLD_POLICY and (old == 0) != (value == 0):
            relaxing = value == 0
        if relaxing:
            self._dual.guard(
                principal, "policy.set", {"name": name, "value": value}, f"set {name} from {old} to {value}"
            )
        now = self._clock.now()

        def work(uow: UnitOfWork) -> None:
            uow.policies.put(name, str(value), now, principal.name)
            uow.audit.append(
                [AuditEvent("policy.changed", principal.name, target=name, details={"from": old, "to": value})], now
            )

        self._writer.run(work)
