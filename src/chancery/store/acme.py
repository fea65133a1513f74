"""ACME state: directories, EAB keys, accounts, orders, authorizations, challenges, nonces."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chancery.domain.acme import (
    AccountRecord,
    AccountStatus,
    AuthzRecord,
    AuthzStatus,
    ChallengeRecord,
    ChallengeStatus,
    DirectoryPolicy,
    DirectoryRecord,
    EabKeyRecord,
    Identifier,
    OrderRecord,
    OrderStatus,
)
from chancery.store.tables import (
    acme_accounts,
    acme_authorizations,
    acme_challenges,
    acme_directories,
    acme_eab_keys,
    acme_issued_names,
    acme_orders,
    acme_secrets,
    acme_used_nonces,
)

Row = Mapping[str, Any]


class AcmeRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- directories and secrets ------------------------------------------------------------------

    def add_directory(self, record: DirectoryRecord) -> None:
        policy = json.dumps(dataclasses.asdict(record.policy))
        self._conn.execute(
            insert(acme_directories).values(
                name=record.name,
                ra_name=record.ra,
                profile=record.profile,
                policy=policy,
                created_at=record.created_at,
                created_by=record.created_by,
            )
        )

    def get_directory(self, name: str) -> DirectoryRecord | None:
        row = self._conn.execute(select(acme_directories).where(acme_directories.c.name == name)).mappings().first()
        return None if row is None else _directory(row)

    def list_directories(self) -> tuple[DirectoryRecord, ...]:
        rows = self._conn.execute(select(acme_directories).order_by(acme_directories.c.name)).mappings()
        return tuple(_directory(row) for row in rows)

    def get_secret(self, name: str) -> str | None:
        query = select(acme_secrets.c.value_sealed).where(acme_secrets.c.name == name)
        return self._conn.execute(query).scalar()

    def add_secret(self, name: str, sealed: str, at: dt.datetime) -> bool:
        """False when another node stored one first (then read theirs)."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(acme_secrets).values(name=name, value_sealed=sealed, created_at=at))
        except IntegrityError:
            return False
        return True

    # -- nonces -------------------------------------------------------------------------------------

    def consume_nonce(self, nonce: str, expires_at: dt.datetime) -> bool:
        """Record ``nonce`` as used; False when it was used before (on any node)."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(acme_used_nonces).values(nonce=nonce, expires_at=expires_at))
        except IntegrityError:
            return False
        return True

    def sweep_nonces(self, now: dt.datetime) -> int:
        return self._conn.execute(delete(acme_used_nonces).where(acme_used_nonces.c.expires_at < now)).rowcount

    # -- EAB keys -----------------------------------------------------------------------------------

    def add_eab_key(self, record: EabKeyRecord) -> None:
        self._conn.execute(insert(acme_eab_keys).values(**dataclasses.asdict(record)))

    def get_eab_key(self, kid: str) -> EabKeyRecord | None:
        row = self._conn.execute(select(acme_eab_keys).where(acme_eab_keys.c.kid == kid)).mappings().first()
        return None if row is None else EabKeyRecord(**row)

    def list_eab_keys(self, directory: str | None = None) -> tuple[EabKeyRecord, ...]:
        query = select(acme_eab_keys).order_by(acme_eab_keys.c.created_at, acme_eab_keys.c.kid)
        if directory is not None:
            query = query.where(acme_eab_keys.c.directory == directory)
        return tuple(EabKeyRecord(**row) for row in self._conn.execute(query).mappings())

    def bind_eab_key(self, kid: str, account_id: str, at: dt.datetime) -> bool:
        """Bind once: False when the key is bound already or revoked (RFC 8555 §7.3.4)."""
        table = acme_eab_keys
        query = (
            update(table)
            .where(table.c.kid == kid, table.c.account_id.is_(None), table.c.revoked_at.is_(None))
            .values(account_id=account_id, bound_at=at)
        )
        return self._conn.execute(query).rowcount == 1

    def revoke_eab_key(self, kid: str, at: dt.datetime) -> bool:
        table = acme_eab_keys
        query = update(table).where(table.c.kid == kid, table.c.revoked_at.is_(None)).values(revoked_at=at)
        return self._conn.execute(query).rowcount == 1

    # -- accounts -----------------------------------------------------------------------------------

    def add_account(self, record: AccountRecord) -> None:
        values = dataclasses.asdict(record)
        values["contact"] = json.dumps(list(record.contact))
        values["status"] = record.status.value
        self._conn.execute(insert(acme_accounts).values(**values))

    def get_account(self, account_id: str) -> AccountRecord | None:
        query = select(acme_accounts).where(acme_accounts.c.account_id == account_id)
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _account(row)

    def account_by_thumbprint(self, directory: str, thumbprint: str) -> AccountRecord | None:
        table = acme_accounts
        query = select(table).where(table.c.directory == directory, table.c.thumbprint == thumbprint)
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _account(row)

    def list_accounts(self, directory: str | None = None, limit: int = 500) -> tuple[AccountRecord, ...]:
        query = select(acme_accounts).order_by(acme_accounts.c.created_at, acme_accounts.c.account_id).limit(limit)
        if directory is not None:
            query = query.where(acme_accounts.c.directory == directory)
        return tuple(_account(row) for row in self._conn.execute(query).mappings())

    def update_account(self, account_id: str, **values: Any) -> None:
        if "contact" in values:
            values["contact"] = json.dumps(list(values["contact"]))
        if "status" in values:
            values["status"] = str(values["status"])
        self._conn.execute(update(acme_accounts).where(acme_accounts.c.account_id == account_id).values(**values))

    # -- orders -------------------------------------------------------------------------------------

    def add_order(self, record: OrderRecord) -> None:
        values = dataclasses.asdict(record)
        values["identifiers"] = json.dumps([[i.type, i.value] for i in record.identifiers])
        values["authz_ids"] = json.dumps(list(record.authz_ids))
        values["status"] = record.status.value
        values["ca_name"] = values.pop("ca")
        self._conn.execute(insert(acme_orders).values(**values))

    def get_order(self, order_id: str) -> OrderRecord | None:
        row = self._conn.execute(select(acme_orders).where(acme_orders.c.order_id == order_id)).mappings().first()
        return None if row is None else _order(row)

    def orders_of(self, account_id: str, limit: int = 500) -> tuple[OrderRecord, ...]:
        table = acme_orders
        query = select(table).where(table.c.account_id == account_id).order_by(table.c.created_at).limit(limit)
        return tuple(_order(row) for row in self._conn.execute(query).mappings())

    def move_order(self, order_id: str, current: OrderStatus, to: OrderStatus, **values: Any) -> bool:
        """Compare and set: False when the order is no longer ``current`` (another node moved it)."""
        if "ca" in values:
            values["ca_name"] = values.pop("ca")
        table = acme_orders
        query = (
            update(table)
            .where(table.c.order_id == order_id, table.c.status == current.value)
            .values(status=to.value, **values)
        )
        return self._conn.execute(query).rowcount == 1

    def count_orders_since(self, account_id: str, since: dt.datetime) -> int:
        table = acme_orders
        query = select(func.count()).where(table.c.account_id == account_id, table.c.created_at >= since)
        return int(self._conn.execute(query).scalar_one())

    def order_for_certificate(self, ca: str, serial: str) -> OrderRecord | None:
        table = acme_orders
        query = select(table).where(table.c.ca_name == ca, table.c.serial == serial)
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _order(row)

    def replacing(self, cert_id: str) -> tuple[OrderRecord, ...]:
        table = acme_orders
        query = select(table).where(table.c.replaces == cert_id, table.c.status != OrderStatus.INVALID.value)
        return tuple(_order(row) for row in self._conn.execute(query).mappings())

    def expire_orders(self, now: dt.datetime) -> int:
        table = acme_orders
        live = (OrderStatus.PENDING.value, OrderStatus.READY.value)
        query = (
            update(table)
            .where(table.c.status.in_(live), table.c.expires_at < now)
            .values(status=OrderStatus.INVALID.value, error=json.dumps({"detail": "the order expired"}))
        )
        return self._conn.execute(query).rowcount

    def record_issued_names(self, order_id: str, directory: str, domains: set[str], at: dt.datetime) -> None:
        rows = [{"order_id": order_id, "domain": d, "directory": directory, "issued_at": at} for d in sorted(domains)]
        if rows:
            self._conn.execute(insert(acme_issued_names), rows)

    def count_issued(self, domain: str, since: dt.datetime) -> int:
        table = acme_issued_names
        query = select(func.count()).where(table.c.domain == domain, table.c.issued_at >= since)
        return int(self._conn.execute(query).scalar_one())

    # -- authorizations and challenges --------------------------------------------------------------

    def add_authz(self, record: AuthzRecord) -> None:
        self._conn.execute(
            insert(acme_authorizations).values(
                authz_id=record.authz_id,
                account_id=record.account_id,
                directory=record.directory,
                identifier_type=record.identifier.type,
                identifier_value=record.identifier.value,
                wildcard=record.wildcard,
                status=record.status.value,
                created_at=record.created_at,
                expires_at=record.expires_at,
            )
        )
        if record.challenges:
            rows = [{**dataclasses.asdict(c), "status": c.status.value} for c in record.challenges]
            self._conn.execute(insert(acme_challenges), rows)

    def get_authz(self, authz_id: str) -> AuthzRecord | None:
        table = acme_authorizations
        row = self._conn.execute(select(table).where(table.c.authz_id == authz_id)).mappings().first()
        return None if row is None else self._authz(row)

    def authzs(self, authz_ids: tuple[str, ...]) -> tuple[AuthzRecord, ...]:
        table = acme_authorizations
        rows = {
            r["authz_id"]: r
            for r in self._conn.execute(select(table).where(table.c.authz_id.in_(authz_ids))).mappings()
        }
        return tuple(self._authz(rows[a]) for a in authz_ids if a in rows)

    def reusable_authz(
        self, account_id: str, identifier: Identifier, wildcard: bool, now: dt.datetime
    ) -> AuthzRecord | None:
        """A valid authorization of this account for this identifier, still within its life."""
        table = acme_authorizations
        query = (
            select(table)
            .where(
                table.c.account_id == account_id,
                table.c.identifier_type == identifier.type,
                table.c.identifier_value == identifier.value,
                table.c.wildcard == wildcard,
                table.c.status == AuthzStatus.VALID.value,
                table.c.expires_at > now,
            )
            .order_by(table.c.expires_at.desc())
            .limit(1)
        )
        row = self._conn.execute(query).mappings().first()
        return None if row is None else self._authz(row)

    def move_authz(self, authz_id: str, current: tuple[AuthzStatus, ...], to: AuthzStatus, **values: Any) -> bool:
        table = acme_authorizations
        query = (
            update(table)
            .where(table.c.authz_id == authz_id, table.c.status.in_([s.value for s in current]))
            .values(status=to.value, **values)
        )
        return self._conn.execute(query).rowcount == 1

    def move_challenge(self, challenge_id: str, current: ChallengeStatus, to: ChallengeStatus, **values: Any) -> bool:
        table = acme_challenges
        query = (
            update(table)
            .where(table.c.challenge_id == challenge_id, table.c.status == current.value)
            .values(status=to.value, **values)
        )
        return self._conn.execute(query).rowcount == 1

    def expire_authzs(self, now: dt.datetime) -> int:
        table = acme_authorizations
        query = (
            update(table)
            .where(table.c.status == AuthzStatus.PENDING.value, table.c.expires_at < now)
            .values(status=AuthzStatus.EXPIRED.value)
        )
        return self._conn.execute(query).rowcount

    def _authz(self, row: Row) -> AuthzRecord:
        query = select(acme_challenges).where(acme_challenges.c.authz_id == row["authz_id"])
        challenges = tuple(
            ChallengeRecord(**{**c, "status": ChallengeStatus(c["status"])})
            for c in self._conn.execute(query.order_by(acme_challenges.c.type)).mappings()
        )
        return AuthzRecord(
            authz_id=row["authz_id"],
            account_id=row["account_id"],
            directory=row["directory"],
            identifier=Identifier(row["identifier_type"], row["identifier_value"]),
            wildcard=bool(row["wildcard"]),
            status=AuthzStatus(row["status"]),
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            challenges=challenges,
        )


def _directory(row: Row) -> DirectoryRecord:
    raw = json.loads(row["policy"])
    policy = DirectoryPolicy(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    return DirectoryRecord(row["name"], row["ra_name"], row["profile"], policy, row["created_at"], row["created_by"])


def _account(row: Row) -> AccountRecord:
    return AccountRecord(
        account_id=row["account_id"],
        directory=row["directory"],
        thumbprint=row["thumbprint"],
        jwk=row["jwk"],
        status=AccountStatus(row["status"]),
        contact=tuple(json.loads(row["contact"])),
        created_at=row["created_at"],
        eab_kid=row["eab_kid"],
    )


def _order(row: Row) -> OrderRecord:
    values = dict(row)
    values["ca"] = values.pop("ca_name")
    values["status"] = OrderStatus(values["status"])
    values["identifiers"] = tuple(Identifier(t, v) for t, v in json.loads(values["identifiers"]))
    values["authz_ids"] = tuple(json.loads(values["authz_ids"]))
    return OrderRecord(**values)
