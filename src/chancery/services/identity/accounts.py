"""Administering identities: local users, groups, role grants, second factors.

Every change is audited in its own transaction; granting and revoking roles are
sensitive operations (dual control).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.identity import GranteeKind, GroupRecord, RoleGrantRecord, UserRecord, UserSource, user_name
from chancery.domain.names import ca_name, profile_name
from chancery.domain.permissions import Permission
from chancery.domain.principals import Grant, Principal, Role
from chancery.errors import Conflict, Malformed, NotFound
from chancery.keys.base import SecretSealer
from chancery.services.approvals import DualControl
from chancery.services.authorization import require
from chancery.services.identity import totp
from chancery.services.identity.passwords import Passwords, check_policy
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

T = TypeVar("T")

MAX_DISPLAY_NAME = 200
CERTIFICATE_MATCH_KINDS = ("subject:", "san:")


@dataclass(frozen=True)
class NewGrant:
    """A role for a user or a group, on a scope (``None``: any)."""

    role: Role
    user: str | None = None
    group: str | None = None
    ca: str | None = None
    profile: str | None = None
    ra: str | None = None


@dataclass(frozen=True)
class TotpEnrolment:
    """Shown once: the secret as an ``otpauth://`` URI for an authenticator app."""

    user: str
    uri: str = field(repr=False)


class AccountService:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        passwords: Passwords,
        secrets: SecretSealer,
        dual_control: DualControl,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        """``on_change`` runs after every committed change to users, groups or grants: caches of
        authenticated principals (tokens, client certificates) drop what they hold, so that a
        disabled user or a revoked role stops working on this node at once."""
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._passwords = passwords
        self._secrets = secrets
        self._dual = dual_control
        self._on_change = on_change

    def _write(self, work: Callable[[UnitOfWork], T]) -> T:
        result = self._writer.run(work)
        self._on_change()
        return result

    # -- users -------------------------------------------------------------------------------

    def add_user(
        self, principal: Principal, name: str, password: str | None = None, display_name: str = ""
    ) -> UserRecord:
        """A local user; without a password it can only use tokens or a client certificate."""
        require(principal, Permission.USER_MANAGE)
        name = user_name(name)
        if len(display_name) > MAX_DISPLAY_NAME:
            raise Malformed(f"a display name has at most {MAX_DISPLAY_NAME} characters")
        password_hash = None
        if password is not None:
            check_policy(password, name)
            password_hash = self._passwords.hash(password)
        now = self._clock.now()
        record = UserRecord(name, UserSource.LOCAL, now, display_name=display_name, password_hash=password_hash)

        def add(uow: UnitOfWork) -> None:
            uow.users.add(record)
            event = AuditEvent("user.created", principal.name, target=name, details={"password": password is not None})
            uow.audit.append([event], now)

        self._write(add)
        return record

    def bootstrap_administrator(self, principal: Principal, name: str) -> None:
        """``chancery init``: the first administrator (a local user without a password, reached
        through the token init prints). Not dual-controlled: nobody else exists yet."""
        require(principal, Permission.USER_MANAGE)
        now = self._clock.now()

        def work(uow: UnitOfWork) -> None:
            if uow.users.get(name) is None:
                uow.users.add(UserRecord(name, UserSource.LOCAL, now, display_name="first administrator"))
            grant = Grant(Role.ADMINISTRATOR)
            if not any(r.grant == grant for r in uow.grants.list(GranteeKind.USER, name)):
                uow.grants.add(RoleGrantRecord(0, GranteeKind.USER, name, Role.ADMINISTRATOR, now, principal.name))
            event = AuditEvent(
                "role.granted",
                principal.name,
                target=f"user:{name}",
                details={"role": "administrator", "bootstrap": True},
            )
            uow.audit.append([event], now)

        self._write(work)

    def list_users(self, principal: Principal) -> tuple[UserRecord, ...]:
        require(principal, Permission.USER_READ)
        with self._tx.read() as uow:
            return uow.users.list()

    def get_user(self, principal: Principal, name: str) -> UserRecord:
        if principal.name != name:
            require(principal, Permission.USER_READ)
        with self._tx.read() as uow:
            return _existing(uow, name)

    def set_password(self, principal: Principal, name: str, password: str) -> None:
        require(principal, Permission.USER_MANAGE)
        check_policy(password, name)
        password_hash = self._passwords.hash(password)
        self._change(principal, name, "user.password-set", lambda u: replace(u, password_hash=password_hash))

    def set_disabled(self, principal: Principal, name: str, disabled: bool) -> None:
        """Disabling ends the user's sessions; its tokens stop working at their next check."""
        require(principal, Permission.USER_MANAGE)
        if disabled and name == principal.name:
            raise Conflict("you cannot disable yourself")
        action = "user.disabled" if disabled else "user.enabled"
        self._change(principal, name, action, lambda u: replace(u, disabled=disabled), end_sessions=disabled)

    def unlock(self, principal: Principal, name: str) -> None:
        require(principal, Permission.USER_MANAGE)
        self._change(principal, name, "user.unlocked", lambda u: replace(u, failed_logins=0, locked_until=None))

    def set_certificate_match(self, principal: Principal, name: str, match: str | None) -> None:
        """Map client certificates to ``name``: ``subject:<RFC 4514 DN>`` or ``san:<email:...|UPN:...|DNS:...>``."""
        require(principal, Permission.USER_MANAGE)
        if match is not None and (not match.startswith(CERTIFICATE_MATCH_KINDS) or len(match) > 1000):
            raise Malformed("a certificate match is 'subject:<DN>' or 'san:<TYPE:value>'")
        self._change(
            principal, name, "user.certificate-mapped", lambda u: replace(u, certificate_match=match), {"match": match}
        )

    def enrol_totp(self, principal: Principal, name: str) -> TotpEnrolment:
        """A new TOTP secret for ``name``; codes are required from now on.

        A user may set up their own second factor once; replacing one needs a user manager, so that
        a stolen session or token cannot swap the victim's authenticator for the thief's."""
        if principal.name != name:
            require(principal, Permission.USER_MANAGE)
        else:
            with self._tx.read() as uow:
                current = uow.users.get(name)
            if current is not None and current.totp_sealed is not None:
                require(principal, Permission.USER_MANAGE)
        secret = totp.new_secret()
        sealed = self._secrets.seal_secret(f"totp:{name}", secret)
        self._change(
            principal, name, "user.totp-enrolled", lambda u: replace(u, totp_sealed=sealed, totp_last_step=None)
        )
        return TotpEnrolment(user=name, uri=totp.provisioning_uri(secret, name))

    def remove_totp(self, principal: Principal, name: str) -> None:
        require(principal, Permission.USER_MANAGE)
        self._change(principal, name, "user.totp-removed", lambda u: replace(u, totp_sealed=None, totp_last_step=None))

    def _change(
        self,
        principal: Principal,
        name: str,
        action: str,
        change: Callable[[UserRecord], UserRecord],
        details: dict[str, object] | None = None,
        end_sessions: bool = False,
    ) -> None:
        now = self._clock.now()

        def work(uow: UnitOfWork) -> None:
            user = _existing(uow, name)
            uow.users.save(change(user))
            if end_sessions:
                uow.sessions.end_for_user(name, now)
            uow.audit.append([AuditEvent(action, principal.name, target=name, details=details or {})], now)

        self._write(work)

    # -- groups ------------------------------------------------------------------------------

    def add_group(self, principal: Principal, name: str, description: str = "") -> GroupRecord:
        require(principal, Permission.USER_MANAGE)
        record = GroupRecord(user_name(name), self._clock.now(), description[:500])

        def add(uow: UnitOfWork) -> None:
            uow.groups.add(record)
            uow.audit.append([AuditEvent("group.created", principal.name, target=record.name)], record.created_at)

        self._write(add)
        return record

    def list_groups(self, principal: Principal) -> tuple[GroupRecord, ...]:
        require(principal, Permission.USER_READ)
        with self._tx.read() as uow:
            return uow.groups.list()

    def set_membership(self, principal: Principal, group: str, user: str, member: bool) -> None:
        require(principal, Permission.USER_MANAGE)
        now = self._clock.now()

        def work(uow: UnitOfWork) -> None:
            if uow.groups.get(group) is None:
                raise NotFound(f"no group {group[:128]!r}")
            _existing(uow, user)
            changed = uow.groups.add_member(group, user) if member else uow.groups.remove_member(group, user)
            if not changed:
                raise Conflict(f"{user} is {'already' if member else 'not'} a member of {group}")
            action = "group.member-added" if member else "group.member-removed"
            uow.audit.append([AuditEvent(action, principal.name, target=group, details={"user": user})], now)

        self._write(work)

    # -- role grants (sensitive) -----------------------------------------------------------------

    def grant(self, principal: Principal, new: NewGrant) -> RoleGrantRecord:
        require(principal, Permission.USER_MANAGE)
        kind, grantee = _grantee(new)
        for value, check in ((new.ca, ca_name), (new.profile, profile_name), (new.ra, ca_name)):
            if value is not None:
                check(value)
        scope = "".join(
            f" {label} {value}"
            for label, value in (("on CA", new.ca), ("profile", new.profile), ("RA", new.ra))
            if value
        )
        payload = {
            "role": new.role.value,
            "user": new.user,
            "group": new.group,
            "ca": new.ca,
            "profile": new.profile,
            "ra": new.ra,
        }
        self._dual.guard(principal, "role.grant", payload, f"grant {new.role.value}{scope} to {kind.value} {grantee}")
        now = self._clock.now()

        def work(uow: UnitOfWork) -> RoleGrantRecord:
            if kind is GranteeKind.USER:
                _existing(uow, grantee)
            elif uow.groups.get(grantee) is None:
                raise NotFound(f"no group {grantee[:128]!r}")
            if any(r.grant == _scoped(new) for r in uow.grants.list(kind, grantee)):
                raise Conflict(f"{kind.value} {grantee} already holds {_scoped(new)}")
            record = RoleGrantRecord(0, kind, grantee, new.role, now, principal.name, new.ca, new.profile, new.ra)
            record = replace(record, grant_id=uow.grants.add(record))
            details = {
                "role": new.role.value,
                "ca": new.ca,
                "profile": new.profile,
                "ra": new.ra,
                "grant": record.grant_id,
            }
            uow.audit.append(
                [AuditEvent("role.granted", principal.name, target=f"{kind.value}:{grantee}", details=details)], now
            )
            return record

        return self._write(work)

    def revoke_grant(self, principal: Principal, grant_id: int) -> None:
        require(principal, Permission.USER_MANAGE)
        with self._tx.read() as uow:
            record = next((r for r in uow.grants.list() if r.grant_id == grant_id), None)
        if record is None:
            raise NotFound(f"no role grant {grant_id}")
        summary = f"revoke {record.grant} from {record.grantee_kind.value} {record.grantee}"
        self._dual.guard(principal, "role.revoke", {"grant_id": grant_id}, summary)
        now = self._clock.now()

        def work(uow: UnitOfWork) -> None:
            if not uow.grants.delete(grant_id):
                raise NotFound(f"no role grant {grant_id}")
            target = f"{record.grantee_kind.value}:{record.grantee}"
            uow.audit.append(
                [AuditEvent("role.revoked", principal.name, target=target, details={"grant": str(record.grant)})], now
            )

        self._write(work)

    def list_grants(self, principal: Principal) -> tuple[RoleGrantRecord, ...]:
        require(principal, Permission.USER_READ)
        with self._tx.read() as uow:
            return uow.grants.list()


def _existing(uow: UnitOfWork, name: str) -> UserRecord:
    user = uow.users.get(name)
    if user is None:
        raise NotFound(f"no user {name[:128]!r}")
    return user


def _grantee(new: NewGrant) -> tuple[GranteeKind, str]:
    if (new.user is None) == (new.group is None):
        raise Malformed("grant a role to a user or to a group (one of them)")
    if new.user is not None:
        return GranteeKind.USER, user_name(new.user)
    assert new.group is not None
    return GranteeKind.GROUP, user_name(new.group)


def _scoped(new: NewGrant) -> Grant:
    return Grant(new.role, new.ca, new.profile, new.ra)
