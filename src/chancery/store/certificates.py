"""Certificates and reserved serials of every CA."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from chancery.domain.names import CAName
from chancery.domain.queries import CertificateFilter, Page, PageRequest, RevocationFilter, encode_cursor
from chancery.domain.records import CertificateRecord, CertificateState, CertificateStatus, Revocation
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.errors import Conflict, InternalError
from chancery.store.fast_statements import FastStatement, FastStatements
from chancery.store.revocation import iterate_column
from chancery.store.tables import certificates as t

_HOLD = RevocationReason.certificateHold.value

# Built once: statements on the issuance hot path reuse their compiled form.
_INSERT = insert(t)
_MARK_ISSUED = (
    update(t)
    .where(t.c.ca_name == bindparam("ca"), t.c.serial == bindparam("sn"), t.c.state == CertificateState.RESERVED.value)
    .values(state=CertificateState.ISSUED.value, der=bindparam("der"))
)
_GET = select(t).where(t.c.ca_name == bindparam("ca"), t.c.serial == bindparam("sn"))
_ROW_KEYS = tuple(c.key for c in t.columns if c.key != "id")
_FAST_INSERT = FastStatements(lambda dialect: FastStatement(_INSERT, t, dialect, _ROW_KEYS))
_FAST_MARK_ISSUED = FastStatements(lambda dialect: FastStatement(_MARK_ISSUED, t, dialect, ("ca", "sn", "der")))


class CertificateRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def reserve(self, record: CertificateRecord) -> None:
        """Record a serial before it is signed (DESIGN.md invariant 1).

        Raises :class:`Conflict` if the CA already used this serial; the
        transaction must then be abandoned (no savepoint is spent on the
        one-in-2**64 case: the group committer reruns the others).
        """
        if record.state is not CertificateState.RESERVED:
            raise ValueError("only reserved records are inserted")
        try:
            self._conn.execute(_INSERT, _to_row(record))
        except IntegrityError:
            raise Conflict(f"serial {record.serial} is already used by CA {record.ca_name}") from None

    def reserve_many(self, records: list[CertificateRecord]) -> None:
        """:meth:`reserve` for several records in one statement (executemany)."""
        try:
            _FAST_INSERT.for_connection(self._conn).execute_many(self._conn, [_to_row(record) for record in records])
        except IntegrityError:
            raise Conflict("a serial in this batch is already used") from None

    def mark_issued(self, ca_name: str, serial: SerialNumber, der: bytes) -> None:
        """Store the signed certificate over its reservation."""
        self.mark_issued_many([(ca_name, serial, der)])

    def mark_issued_many(self, items: list[tuple[str, SerialNumber, bytes]]) -> None:
        """:meth:`mark_issued` for several certificates in one statement (executemany)."""
        params = [{"ca": ca_name, "sn": serial.hex, "der": der} for ca_name, serial, der in items]
        affected = _FAST_MARK_ISSUED.for_connection(self._conn).execute_many(self._conn, params)
        if affected != len(items):
            raise InternalError("a certificate to store has no reservation")

    def get(self, ca_name: str, serial: SerialNumber) -> CertificateRecord | None:
        row = self._conn.execute(_GET, {"ca": ca_name, "sn": serial.hex}).mappings().first()
        return None if row is None else _from_row(row)

    def revocation_state(self, ca_name: str, serial: SerialNumber) -> tuple[str, int | None] | None:
        """(state, revocation reason) of a certificate, read under a share lock on PostgreSQL so that
        a revocation cannot commit between this read and the end of the transaction."""
        statement = select(t.c.state, t.c.revocation_reason).where(t.c.ca_name == ca_name, t.c.serial == serial.hex)
        if self._conn.dialect.name == "postgresql":
            statement = statement.with_for_update(read=True)
        row = self._conn.execute(statement).first()
        return None if row is None else (row[0], row[1])

    def search(self, query: CertificateFilter, page: PageRequest, now: dt.datetime) -> Page[CertificateRecord]:
        """Certificates matching ``query`` in insertion order, ``page.limit`` at a time."""
        conditions = _conditions(query, now)
        conditions.append(t.c.id > page.after_row)
        stmt = select(t).where(and_(*conditions)).order_by(t.c.id).limit(page.limit + 1)
        rows = self._conn.execute(stmt).mappings().all()
        items = tuple(_from_row(row) for row in rows[: page.limit])
        next_cursor = encode_cursor(items[-1].row_id) if len(rows) > page.limit else None
        return Page(items=items, next_cursor=next_cursor)

    def revoke(self, ca_name: str, serial: SerialNumber, revocation: Revocation, crl_entry: bytes) -> bool:
        """Revoke an issued certificate, or turn a hold into a final revocation.

        ``crl_entry`` is its revokedCertificates entry, kept for CRLs. Returns
        ``False`` when the certificate is not in a state that allows it (already
        revoked, or held and asked to be held again).
        """
        params = {**_revocation_params(revocation), "ca": ca_name, "sn": serial.hex, "entry": crl_entry}
        statement = _REVOKE_FROM_ISSUED if revocation.reason.is_hold else _REVOKE_FROM_ISSUED_OR_HOLD
        return self._conn.execute(statement, params).rowcount == 1

    def revoke_many(self, ca_name: str, items: list[tuple[SerialNumber, bytes]], revocation: Revocation) -> int:
        """Revoke several (serial, crl_entry) at once; returns how many changed state."""
        base = {**_revocation_params(revocation), "ca": ca_name}
        params = [{**base, "sn": serial.hex, "entry": entry} for serial, entry in items]
        statement = _REVOKE_FROM_ISSUED if revocation.reason.is_hold else _REVOKE_FROM_ISSUED_OR_HOLD
        return int(self._conn.execute(statement, params).rowcount) if params else 0

    def release_hold(self, ca_name: str, serial: SerialNumber) -> bool:
        """Lift a certificateHold (RFC 5280 §5.3.1); ``False`` if the certificate is not on hold."""
        result = self._conn.execute(
            update(t)
            .where(
                t.c.ca_name == ca_name,
                t.c.serial == serial.hex,
                t.c.state == CertificateState.REVOKED.value,
                t.c.revocation_reason == _HOLD,
            )
            .values(
                state=CertificateState.ISSUED.value,
                revoked_at=None,
                revocation_reason=None,
                invalidity_date=None,
                crl_entry=None,
            )
        )
        return result.rowcount == 1

    def revocable(self, query: RevocationFilter, now: dt.datetime) -> list[tuple[SerialNumber, int | None]]:
        """(serial, CRL partition) of the valid or held certificates ``query`` matches."""
        conditions = [
            t.c.ca_name == query.ca_name,
            t.c.not_after > now,
            or_(
                t.c.state == CertificateState.ISSUED.value,
                and_(t.c.state == CertificateState.REVOKED.value, t.c.revocation_reason == _HOLD),
            ),
        ]
        if query.profile is not None:
            conditions.append(t.c.profile == query.profile)
        if query.issued_after is not None:
            conditions.append(t.c.created_at >= query.issued_after)
        if query.issued_before is not None:
            conditions.append(t.c.created_at < query.issued_before)
        if query.public_key_sha256 is not None:
            conditions.append(t.c.public_key_sha256 == query.public_key_sha256)
        rows = self._conn.execute(select(t.c.serial, t.c.crl_partition).where(and_(*conditions)).order_by(t.c.id))
        return [(SerialNumber(int(serial, 16)), partition) for serial, partition in rows]

    def crl_entries(self, ca_name: str, partition: int | None, expired_since: dt.datetime) -> Iterator[bytes]:
        """The revokedCertificates entries of a CA (one partition of it, or all), streamed.

        Certificates that expired before ``expired_since`` are left out: they have
        been on a CRL issued after their expiry (RFC 5280 §3.3).
        """
        statement = select(t.c.crl_entry).where(
            t.c.ca_name == ca_name, t.c.state == CertificateState.REVOKED.value, t.c.not_after >= expired_since
        )
        if partition is not None:
            statement = statement.where(t.c.crl_partition == partition)
        return iterate_column(self._conn, statement)


_REVOKE_VALUES = {
    "state": CertificateState.REVOKED.value,
    "revoked_at": bindparam("revoked_at"),
    "revocation_reason": bindparam("reason"),
    "invalidity_date": bindparam("invalidity_date"),
    "crl_entry": bindparam("entry"),
}
_REVOKE_FROM_ISSUED = (
    update(t)
    .where(t.c.ca_name == bindparam("ca"), t.c.serial == bindparam("sn"), t.c.state == CertificateState.ISSUED.value)
    .values(**_REVOKE_VALUES)
)
_REVOKE_FROM_ISSUED_OR_HOLD = (
    update(t)
    .where(
        t.c.ca_name == bindparam("ca"),
        t.c.serial == bindparam("sn"),
        or_(
            t.c.state == CertificateState.ISSUED.value,
            and_(t.c.state == CertificateState.REVOKED.value, t.c.revocation_reason == _HOLD),
        ),
    )
    .values(**_REVOKE_VALUES)
)


def _revocation_params(revocation: Revocation) -> dict[str, Any]:
    return {
        "revoked_at": revocation.revoked_at,
        "reason": revocation.reason.value,
        "invalidity_date": revocation.invalidity_date,
    }


def _conditions(query: CertificateFilter, now: dt.datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.ca_name is not None:
        conditions.append(t.c.ca_name == query.ca_name)
    if query.profile is not None:
        conditions.append(t.c.profile == query.profile)
    if query.subject_contains:
        conditions.append(t.c.subject.contains(query.subject_contains, autoescape=True))
    if query.san_contains:
        conditions.append(t.c.sans.contains(query.san_contains, autoescape=True))
    if query.status is not None:
        conditions.append(_status_condition(query.status, now))
    if query.expiring_within is not None:
        conditions.append(t.c.state == CertificateState.ISSUED.value)
        conditions.append(t.c.not_after > now)
        conditions.append(t.c.not_after <= now + query.expiring_within)
    return conditions


def _status_condition(status: CertificateStatus, now: dt.datetime) -> ColumnElement[bool]:
    issued = t.c.state == CertificateState.ISSUED.value
    revoked = t.c.state == CertificateState.REVOKED.value
    return {
        CertificateStatus.RESERVED: t.c.state == CertificateState.RESERVED.value,
        CertificateStatus.VALID: and_(issued, t.c.not_after > now),
        CertificateStatus.EXPIRED: and_(issued, t.c.not_after <= now),
        CertificateStatus.REVOKED: and_(revoked, t.c.revocation_reason != _HOLD),
        CertificateStatus.ON_HOLD: and_(revoked, t.c.revocation_reason == _HOLD),
    }[status]


def _to_row(record: CertificateRecord) -> dict[str, Any]:
    revocation = record.revocation
    return {
        "ca_name": record.ca_name,
        "serial": record.serial.hex,
        "state": record.state.value,
        "profile": record.profile,
        "subject": record.subject,
        "sans": "\n".join(record.sans),
        "not_before": record.not_before,
        "not_after": record.not_after,
        "public_key_sha256": record.public_key_sha256,
        "der": record.der,
        "key_id": record.key_id,
        "created_at": record.created_at,
        "revoked_at": revocation.revoked_at if revocation else None,
        "revocation_reason": revocation.reason.value if revocation else None,
        "invalidity_date": revocation.invalidity_date if revocation else None,
        "renewal_of": record.renewal_of.hex if record.renewal_of else None,
        "crl_entry": None,
        "crl_partition": record.crl_partition,
        "profile_version": record.profile_version,
    }


def _from_row(row: Any) -> CertificateRecord:
    revocation = None
    if row["revocation_reason"] is not None:
        revocation = Revocation(
            revoked_at=row["revoked_at"],
            reason=RevocationReason(row["revocation_reason"]),
            invalidity_date=row["invalidity_date"],
        )
    return CertificateRecord(
        ca_name=CAName(row["ca_name"]),
        serial=SerialNumber(int(row["serial"], 16)),
        state=CertificateState(row["state"]),
        profile=row["profile"],
        subject=row["subject"],
        sans=tuple(s for s in row["sans"].split("\n") if s),
        not_before=row["not_before"],
        not_after=row["not_after"],
        public_key_sha256=row["public_key_sha256"],
        created_at=row["created_at"],
        der=row["der"],
        key_id=row["key_id"],
        revocation=revocation,
        renewal_of=SerialNumber(int(row["renewal_of"], 16)) if row["renewal_of"] else None,
        crl_partition=row["crl_partition"],
        profile_version=row["profile_version"],
        row_id=row["id"],
    )
