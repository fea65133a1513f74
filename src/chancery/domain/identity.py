"""Users, groups, role grants and directory settings, as the store returns them."""

from __future__ import annotations

import datetime as dt
import json
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


def dn_key(dn: str) -> str:
    """A directory DN as a comparison key: ``cn=Ops, ou=Groups`` and ``CN=ops,OU=groups`` are one group.

    Parses the RFC 4514 string form: RDNs split at unescaped ``,`` (or ``;``, RFC 1779), AVAs at
    unescaped ``+``, spaces around separators dropped, escapes (``\\,`` and ``\\2C``) decoded. Attribute
    types compare case-insensitively; values as caseIgnoreMatch does (RFC 4518 §2: case folded, inner
    spaces squeezed). A multi-valued RDN's AVAs compare in any order. Not a validator: text that is
    no DN still gives a key, one that matches only itself.
    """
    rdns: list[list[list[str]]] = [[]]
    current: list[str] = []
    raw = bytearray()
    i = 0

    def flush_value() -> None:
        if raw:
            current.append(raw.decode("utf-8", "replace"))
            raw.clear()

    def end_ava() -> None:
        flush_value()
        text = "".join(current)
        current.clear()
        kind, _, value = text.partition("=")
        rdns[-1].append([kind.strip().casefold(), " ".join(value.casefold().split())])

    while i < len(dn):
        char = dn[i]
        if char == "\\" and i + 1 < len(dn):
            pair = dn[i + 1 : i + 3]
            if re.fullmatch(r"[0-9A-Fa-f]{2}", pair):
                raw.append(int(pair, 16))
                i += 3
                continue
            flush_value()
            current.append(dn[i + 1])
            i += 2
            continue
        flush_value()
        if char in ",;":
            end_ava()
            rdns.append([])
        elif char == "+":
            end_ava()
        else:
            current.append(char)
        i += 1
    end_ava()
    return json.dumps([sorted(rdn) for rdn in rdns], ensure_ascii=False, separators=(",", ":"))


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
