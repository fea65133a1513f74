"""Registration authorities: each bound to one CA, with an approval policy per profile."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.names import ra_name
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal, Role
from chancery.domain.registration import MAX_APPROVALS, ProfilePolicy, RaRecord
from chancery.errors import Conflict, Malformed, NotFound
from chancery.services.approvals import DualControl
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

_EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


@dataclass(frozen=True)
class NewRa:
    name: str
    ca: str
    profiles: tuple[str, ...]
    policy: ProfilePolicy = ProfilePolicy()
    revocation_approvals: int = 0
    description: str = ""
    notify_emails: tuple[str, ...] = ()


def check_email(address: str) -> str:
    address = address.strip()
    if len(address) > 254 or not _EMAIL.match(address):
        raise Malformed(f"not an e-mail address: {address[:60]!r}")
    return address


class RaDirectory:
    def __init__(self, transactions: Transactions, writer: DurableWriter, clock: Clock, dual: DualControl) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._dual = dual

    def get(self, name: str) -> RaRecord:
        """An RA's public description (anyone may read which profiles it takes)."""
        with self._tx.read() as uow:
            record = uow.registration.get_ra(name)
        if record is None:
            raise NotFound(f"no RA named {name!r}")
        return record

    def list(self) -> tuple[RaRecord, ...]:
        with self._tx.read() as uow:
            return uow.registration.list_ras()

    def create(self, principal: Principal, new: NewRa) -> RaRecord:
        """Create an RA (dual-controlled, ``ra.create``): its CA and profiles must exist."""
        name = ra_name(new.name)
        require(principal, Permission.RA_MANAGE, new.ca)
        if not new.profiles:
            raise Malformed("an RA needs at least one profile")
        if not 0 <= new.revocation_approvals <= MAX_APPROVALS:
            raise Malformed(f"revocation approvals must be between 0 and {MAX_APPROVALS}")
        emails = tuple(check_email(address) for address in new.notify_emails)
        payload = {
            "name": name,
            "ca": new.ca,
            "profiles": list(new.profiles),
            "policy": _policy_payload(new.policy),
            "revocation_approvals": new.revocation_approvals,
            "description": new.description,
            "notify_emails": list(emails),
        }
        with self._tx.read() as uow:  # an operation that cannot succeed does not wait for approval
            _check_names(uow, new.ca, new.profiles)
            if uow.registration.get_ra(name) is not None:
                raise Conflict(f"an RA named {name!r} exists")
        summary = f"create RA {name} on CA {new.ca} for {', '.join(new.profiles)} ({new.policy.approvals} approvals)"
        self._dual.guard(principal, "ra.create", payload, summary)
        now = self._clock.now()
        record = RaRecord(
            name=name,
            ca=new.ca,
            policies=tuple((profile, new.policy) for profile in dict.fromkeys(new.profiles)),
            created_at=now,
            created_by=principal.name,
            revocation_approvals=new.revocation_approvals,
            description=new.description[:500],
            notify_emails=emails,
        )

        def add(uow: UnitOfWork) -> RaRecord:
            _check_targets(uow, record)
            uow.registration.add_ra(record)
            details = {"ca": record.ca, **{f"profile:{p}": _describe(policy) for p, policy in record.policies}}
            uow.audit.append(
                [AuditEvent("ra.created", principal.name, ca=record.ca, target=name, details=details)], now
            )
            return record

        return self._writer.run(add)

    def set_policy(self, principal: Principal, name: str, profile: str, policy: ProfilePolicy | None) -> RaRecord:
        """Add or change one profile's policy on RA ``name``, or remove the profile (``None``).
        Dual-controlled (``ra.set-policy``): a policy decides how many people must agree."""
        current = self.get(name)
        require(principal, Permission.RA_MANAGE, current.ca)
        payload = {"name": name, "profile": profile, "policy": None if policy is None else _policy_payload(policy)}
        if policy is None and profile not in current.profiles:
            raise NotFound(f"RA {name} does not take profile {profile!r}")
        if policy is not None:
            with self._tx.read() as uow:  # checked again when it runs
                _check_names(uow, current.ca, (profile,))
        what = "remove profile" if policy is None else f"set policy ({_describe(policy)}) for"
        self._dual.guard(principal, "ra.set-policy", payload, f"{what} {profile} on RA {name}")
        now = self._clock.now()

        def save(uow: UnitOfWork) -> RaRecord:
            record = uow.registration.get_ra(name)
            if record is None:
                raise NotFound(f"no RA named {name!r}")
            policies = dict(record.policies)
            if policy is None:
                if profile not in policies:
                    raise NotFound(f"RA {name} does not take profile {profile!r}")
                if len(policies) == 1:
                    raise Malformed(f"{profile} is RA {name}'s last profile")
                del policies[profile]
            else:
                policies[profile] = policy
            updated = replace(record, policies=tuple(sorted(policies.items())))
            _check_targets(uow, updated)
            uow.registration.save_ra(updated)
            details = {"profile": profile, "policy": "removed" if policy is None else _describe(policy)}
            event = AuditEvent("ra.policy-changed", principal.name, ca=record.ca, target=name, details=details)
            uow.audit.append([event], now)
            return updated

        return self._writer.run(save)


def policy_from_payload(payload: dict[str, object]) -> ProfilePolicy:
    """Read back a policy that a dual-control operation recorded."""
    group = payload.get("approver_group")
    return ProfilePolicy(
        approvals=int(str(payload["approvals"])),
        approver_role=Role(str(payload["approver_role"])),
        approver_group=str(group) if group else None,
        allow_anonymous=bool(payload["allow_anonymous"]),
        lifetime_hours=int(str(payload["lifetime_hours"])),
        deny_needs_reason=bool(payload["deny_needs_reason"]),
    )


def _policy_payload(policy: ProfilePolicy) -> dict[str, object]:
    return {
        "approvals": policy.approvals,
        "approver_role": policy.approver_role.value,
        "approver_group": policy.approver_group,
        "allow_anonymous": policy.allow_anonymous,
        "lifetime_hours": policy.lifetime_hours,
        "deny_needs_reason": policy.deny_needs_reason,
    }


def _describe(policy: ProfilePolicy) -> str:
    who = policy.approver_role.value + (f" in group {policy.approver_group}" if policy.approver_group else "")
    anonymous = ", anonymous allowed" if policy.allow_anonymous else ""
    return f"{policy.approvals} approvals by {who}{anonymous}, pending {policy.lifetime_hours} h"


def _check_targets(uow: UnitOfWork, record: RaRecord) -> None:
    _check_names(uow, record.ca, record.profiles)


def _check_names(uow: UnitOfWork, ca: str, profiles: tuple[str, ...]) -> None:
    authority = uow.authorities.get(ca)
    if authority is None:
        raise NotFound(f"no CA named {ca!r}")
    for profile in profiles:
        latest = uow.profiles.latest(profile)
        if latest is None:
            raise NotFound(f"no profile named {profile!r}")
