"""Users, groups, role grants, directory settings and portal sessions."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chancery.domain.identity import (
    DirectoryGroupMapping,
    GranteeKind,
    GroupRecord,
    LdapSettings,
    RoleGrantRecord,
    SessionRecord,
    UserRecord,
    UserSource,
)
from chancery.domain.principals import Grant, Role
from chancery.errors import Conflict
from chancery.store.tables import group_members, groups, ldap_settings, role_grants, sessions, users


class UserRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: UserRecord) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(users).values(**_user_row(record)))
        except IntegrityError:
            raise Conflict(f"a user named {record.name!r} already exists") from None

    def save(self, record: UserRecord) -> None:
        self._conn.execute(update(users).where(users.c.name == record.name).values(**_user_row(record)))

    def get(self, name: str) -> UserRecord | None:
        row = self._conn.execute(select(users).where(users.c.name == name)).mappings().first()
        return None if row is None else _user(row)

    def list(self) -> tuple[UserRecord, ...]:
        return tuple(_user(row) for row in self._conn.execute(select(users).order_by(users.c.name)).mappings())

    def by_certificate(self, match: str) -> UserRecord | None:
        row = self._conn.execute(select(users).where(users.c.certificate_match == match)).mappings().first()
        return None if row is None else _user(row)

    def record_failure(self, name: str, locked_until: dt.datetime | None, at_least: int) -> int:
        """Count one more failed login (atomically); lock when ``at_least`` is reached. Returns the count."""
        self._conn.execute(update(users).where(users.c.name == name).values(failed_logins=users.c.failed_logins + 1))
        count = self._conn.execute(select(users.c.failed_logins).where(users.c.name == name)).scalar_one()
        if locked_until is not None and count >= at_least:
            self._conn.execute(update(users).where(users.c.name == name).values(locked_until=locked_until))
        return int(count)

    def use_totp_step(self, name: str, step: int) -> bool:
        """Accept a TOTP time step once: False if it (or a later one) was used already."""
        result = self._conn.execute(
            update(users)
            .where(users.c.name == name, or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step))
            .values(totp_last_step=step)
        )
        return result.rowcount == 1

    def record_success(self, name: str, at: dt.datetime, directory_groups: tuple[str, ...] | None = None) -> None:
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": at}
        if directory_groups is not None:
            values["directory_groups"] = json.dumps(list(directory_groups))
        self._conn.execute(update(users).where(users.c.name == name).values(**values))


class GroupRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: GroupRecord) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    insert(groups).values(
                        name=record.name, description=record.description, created_at=record.created_at
                    )
                )
        except IntegrityError:
            raise Conflict(f"a group named {record.name!r} already exists") from None

    def get(self, name: str) -> GroupRecord | None:
        row = self._conn.execute(select(groups).where(groups.c.name == name)).mappings().first()
        if row is None:
            return None
        return GroupRecord(row["name"], row["created_at"], row["description"], self._members(name))

    def list(self) -> tuple[GroupRecord, ...]:
        rows = self._conn.execute(select(groups).order_by(groups.c.name)).mappings().all()
        return tuple(GroupRecord(r["name"], r["created_at"], r["description"], self._members(r["name"])) for r in rows)

    def add_member(self, group: str, user: str) -> bool:
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(group_members).values(group_name=group, user_name=user))
        except IntegrityError:
            return False
        return True

    def remove_member(self, group: str, user: str) -> bool:
        result = self._conn.execute(
            delete(group_members).where(group_members.c.group_name == group, group_members.c.user_name == user)
        )
        return result.rowcount == 1

    def of_user(self, user: str) -> tuple[str, ...]:
        rows = self._conn.execute(
            select(group_members.c.group_name)
            .where(group_members.c.user_name == user)
            .order_by(group_members.c.group_name)
        )
        return tuple(rows.scalars())

    def _members(self, group: str) -> tuple[str, ...]:
        rows = self._conn.execute(
            select(group_members.c.user_name)
            .where(group_members.c.group_name == group)
            .order_by(group_members.c.user_name)
        )
        return tuple(rows.scalars())


class GrantRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: RoleGrantRecord) -> int:
        result = self._conn.execute(
            insert(role_grants).values(
                grantee_kind=record.grantee_kind.value,
                grantee=record.grantee,
                role=record.role.value,
                ca=record.ca,
                profile=record.profile,
                ra=record.ra,
                created_at=record.created_at,
                created_by=record.created_by,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def delete(self, grant_id: int) -> bool:
        return self._conn.execute(delete(role_grants).where(role_grants.c.id == grant_id)).rowcount == 1

    def for_grantees(self, user: str, groups_of_user: tuple[str, ...]) -> tuple[RoleGrantRecord, ...]:
        """The grants of a user and of the groups it belongs to."""
        condition = (role_grants.c.grantee_kind == GranteeKind.USER.value) & (role_grants.c.grantee == user)
        if groups_of_user:
            condition = or_(
                condition,
                (role_grants.c.grantee_kind == GranteeKind.GROUP.value) & role_grants.c.grantee.in_(groups_of_user),
            )
        rows = self._conn.execute(select(role_grants).where(condition).order_by(role_grants.c.id)).mappings()
        return tuple(_grant(row) for row in rows)

    def list(self, grantee_kind: GranteeKind | None = None, grantee: str | None = None) -> tuple[RoleGrantRecord, ...]:
        query = select(role_grants).order_by(role_grants.c.id)
        if grantee_kind is not None:
            query = query.where(role_grants.c.grantee_kind == grantee_kind.value)
        if grantee is not None:
            query = query.where(role_grants.c.grantee == grantee)
        return tuple(_grant(row) for row in self._conn.execute(query).mappings())


class LdapSettingsRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self) -> LdapSettings | None:
        row = self._conn.execute(select(ldap_settings).where(ldap_settings.c.id == 1)).mappings().first()
        if row is None:
            return None
        mappings = tuple(
            DirectoryGroupMapping(m["group_dn"], Grant(Role(m["role"]), m.get("ca"), m.get("profile"), m.get("ra")))
            for m in json.loads(row["group_mappings"])
        )
        return LdapSettings(
            url=row["url"],
            base_dn=row["base_dn"],
            bind_dn=row["bind_dn"],
            bind_password_sealed=row["bind_password_sealed"],
            user_filter=row["user_filter"],
            start_tls=row["start_tls"],
            ca_certificates_pem=row["ca_certificates_pem"],
            group_mappings=mappings,
            updated_at=row["updated_at"],
            updated_by=row["updated_by"],
        )

    def put(self, settings: LdapSettings) -> None:
        values = {
            "url": settings.url,
            "base_dn": settings.base_dn,
            "bind_dn": settings.bind_dn,
            "bind_password_sealed": settings.bind_password_sealed,
            "user_filter": settings.user_filter,
            "start_tls": settings.start_tls,
            "ca_certificates_pem": settings.ca_certificates_pem,
            "group_mappings": json.dumps(
                [
                    {
                        "group_dn": m.group_dn,
                        "role": m.grant.role.value,
                        "ca": m.grant.ca,
                        "profile": m.grant.profile,
                        "ra": m.grant.ra,
                    }
                    for m in settings.group_mappings
                ]
            ),
            "updated_at": settings.updated_at,
            "updated_by": settings.updated_by,
        }
        if self._conn.execute(update(ldap_settings).where(ldap_settings.c.id == 1).values(**values)).rowcount == 0:
            self._conn.execute(insert(ldap_settings).values(id=1, **values))


class SessionRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: SessionRecord) -> None:
        self._conn.execute(
            insert(sessions).values(
                session_hash=record.session_hash,
                user_name=record.user_name,
                created_at=record.created_at,
                last_seen_at=record.last_seen_at,
                expires_at=record.expires_at,
                csrf_hash=record.csrf_hash,
                ended_at=record.ended_at,
            )
        )

    def get(self, session_hash: str) -> SessionRecord | None:
        row = self._conn.execute(select(sessions).where(sessions.c.session_hash == session_hash)).mappings().first()
        if row is None:
            return None
        return SessionRecord(
            session_hash=row["session_hash"],
            user_name=row["user_name"],
            created_at=row["created_at"],
            last_seen_at=row["last_seen_at"],
            expires_at=row["expires_at"],
            csrf_hash=row["csrf_hash"],
            ended_at=row["ended_at"],
        )

    def touch(self, session_hash: str, at: dt.datetime) -> None:
        self._conn.execute(update(sessions).where(sessions.c.session_hash == session_hash).values(last_seen_at=at))

    def end(self, session_hash: str, at: dt.datetime) -> bool:
        result = self._conn.execute(
            update(sessions)
            .where(sessions.c.session_hash == session_hash, sessions.c.ended_at.is_(None))
            .values(ended_at=at)
        )
        return result.rowcount == 1

    def end_for_user(self, user_name: str, at: dt.datetime) -> int:
        result = self._conn.execute(
            update(sessions).where(sessions.c.user_name == user_name, sessions.c.ended_at.is_(None)).values(ended_at=at)
        )
        return int(result.rowcount)


def _user_row(record: UserRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "source": record.source.value,
        "display_name": record.display_name,
        "password_hash": record.password_hash,
        "totp_sealed": record.totp_sealed,
        "totp_last_step": record.totp_last_step,
        "disabled": record.disabled,
        "failed_logins": record.failed_logins,
        "locked_until": record.locked_until,
        "last_login_at": record.last_login_at,
        "directory_groups": json.dumps(list(record.directory_groups)),
        "certificate_match": record.certificate_match,
        "created_at": record.created_at,
    }


def _user(row: Any) -> UserRecord:
    return UserRecord(
        name=row["name"],
        source=UserSource(row["source"]),
        created_at=row["created_at"],
        display_name=row["display_name"],
        password_hash=row["password_hash"],
        totp_sealed=row["totp_sealed"],
        totp_last_step=row["totp_last_step"],
        disabled=bool(row["disabled"]),
        failed_logins=row["failed_logins"],
        locked_until=row["locked_until"],
        last_login_at=row["last_login_at"],
        directory_groups=tuple(json.loads(row["directory_groups"] or "[]")),
        certificate_match=row["certificate_match"],
    )


def _grant(row: Any) -> RoleGrantRecord:
    return RoleGrantRecord(
        grant_id=row["id"],
        grantee_kind=GranteeKind(row["grantee_kind"]),
        grantee=row["grantee"],
        role=Role(row["role"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        ca=row["ca"],
        profile=row["profile"],
        ra=row["ra"],
    )
