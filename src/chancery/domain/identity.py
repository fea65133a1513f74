"""Users, groups, role grants and directory settings, as the store returns them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum

from chancery.domain.principals import Grant, Role
from chancery.errors import Malformed

# Local user and group names: what people type and what appears in the audit trail.
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


def user_name(value: str) -> str:
    """Validate a user or group name; raise :class:`Malformed` otherwise."""
    if not _USER_NAME.fullmatch(value):
        raise Malformed(
            f"invalid name {value[:80]!r}: use 1-128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        )
    return value


class UserSource(StrEnum):
    LOCAL = "local"  # password (Argon2id) in Chancery
    LDAP = "ldap"  # the directory checks the password; created on first login


@dataclass(frozen=True)
class UserRecord:
    name: str
    source: UserSource
    created_at: dt.datetime
    display_name: str = ""
    password_hash: str | None = field(default=None, repr=False)  # Argon2id (PHC string); local users only
    totp_sealed: str | None = field(default=None, repr=False)  # the TOTP secret, sealed by the key store
    totp_last_step: int | None = None  # the time step of the last accepted code (no replay)
    disabled: bool = False
    failed_logins: int = 0
    locked_until: dt.datetime | None = None
    last_login_at: dt.datetime | None = None
    directory_groups: tuple[str, ...] = ()  # LDAP: group DNs seen at the last login
    certificate_match: str | None = None  # client-certificate login: "subject:<DN>" or "san:<TYPE:value>"

    def locked_at(self, now: dt.datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True)
class GroupRecord:
    name: str
    created_at: dt.datetime
    description: str = ""
    members: tuple[str, ...] = ()


class GranteeKind(StrEnum):
    USER = "user"
    GROUP = "group"


@dataclass(frozen=True)
class RoleGrantRecord:
    """A role given to a user or a group, on a scope (``None`` fields: any)."""

    grant_id: int
    grantee_kind: GranteeKind
    grantee: str
    role: Role
    created_at: dt.datetime
    created_by: str
    ca: str | None = None
    profile: str | None = None
    ra: str | None = None

    @property
    def grant(self) -> Grant:
        return Grant(self.role, self.ca, self.profile, self.ra)


@dataclass(frozen=True)
class DirectoryGroupMapping:
    """An LDAP group (by DN) whose members hold ``grant``."""

    group_dn: str
    grant: Grant


@dataclass(frozen=True)
class LdapSettings:
    """How Chancery finds and checks directory users (search, then bind as the user)."""

    url: str
    base_dn: str
    bind_dn: str
    bind_password_sealed: str = field(repr=False)
    user_filter: str = "(uid={username})"
    start_tls: bool = False
    ca_certificates_pem: str | None = None  # trust for LDAPS / StartTLS; None: the system's
    group_mappings: tuple[DirectoryGroupMapping, ...] = ()
    updated_at: dt.datetime | None = None
    updated_by: str = ""


@dataclass(frozen=True)
class SessionRecord:
    """A portal session, found by the SHA-256 of its cookie value."""

    session_hash: str
    user_name: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime  # the absolute limit
    csrf_hash: str
    ended_at: dt.datetime | None = None
