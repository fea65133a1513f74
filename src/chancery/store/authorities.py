"""CAs held by this installation."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chancery.domain.keytypes import KeyType
from chancery.domain.names import CAName
from chancery.domain.records import CAStatus, CertificateAuthorityRecord, DistributionUrls
from chancery.errors import Conflict, NotFound
from chancery.store.tables import authorities


class AuthorityRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: CertificateAuthorityRecord) -> None:
        """Insert a new CA; raise :class:`Conflict` if the name is taken."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(authorities).values(**_to_row(record)))
        except IntegrityError:
            raise Conflict(f"a CA named {record.name!r} already exists") from None

    def save(self, record: CertificateAuthorityRecord) -> None:
        """Overwrite an existing CA's mutable fields; raise :class:`NotFound` if absent."""
        row = _to_row(record)
        row.pop("name")
        row.pop("created_at")
        result = self._conn.execute(update(authorities).where(authorities.c.name == record.name).values(**row))
        if result.rowcount != 1:
            raise NotFound(f"no CA named {record.name!r}")

    def get(self, name: str) -> CertificateAuthorityRecord | None:
        row = self._conn.execute(select(authorities).where(authorities.c.name == name)).mappings().first()
        return None if row is None else _from_row(row)

    def list(self) -> tuple[CertificateAuthorityRecord, ...]:
        rows = self._conn.execute(select(authorities).order_by(authorities.c.id)).mappings().all()
        return tuple(_from_row(row) for row in rows)


def _to_row(record: CertificateAuthorityRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "status": record.status.value,
        "subject": record.subject,
        "key_id": record.key_id,
        "key_type": record.key_type.value,
        "parent_name": record.parent,
        "certificate": record.certificate,
        "chain_b64": "\n".join(base64.b64encode(der).decode("ascii") for der in record.chain),
        "csr": record.csr,
        "path_length": record.path_length,
        "not_after": record.not_after,
        "crl_url": record.urls.crl,
        "ocsp_url": record.urls.ocsp,
        "ca_issuers_url": record.urls.ca_issuers,
        "created_at": record.created_at,
    }


def _from_row(row: Any) -> CertificateAuthorityRecord:
    chain = tuple(base64.b64decode(line) for line in (row["chain_b64"] or "").split("\n") if line)
    return CertificateAuthorityRecord(
        name=CAName(row["name"]),
        status=CAStatus(row["status"]),
        subject=row["subject"],
        key_id=row["key_id"],
        key_type=KeyType(row["key_type"]),
        urls=DistributionUrls(crl=row["crl_url"], ocsp=row["ocsp_url"], ca_issuers=row["ca_issuers_url"]),
        created_at=row["created_at"],
        parent=CAName(row["parent_name"]) if row["parent_name"] else None,
        certificate=row["certificate"],
        chain=chain,
        csr=row["csr"],
        path_length=row["path_length"],
        not_after=row["not_after"],
    )
