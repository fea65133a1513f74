"""The database side of the software key store: sealed blobs and the passphrase check."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from chancery.clock import Clock
from chancery.keys.vault import SealedKey
from chancery.store.database import Database
from chancery.store.tables import keystore_checks, sealed_keys


class SqlSealedKeyVault:
    """Satisfies :class:`chancery.keys.vault.SealedKeyVault`; each call is its own transaction."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    def put_key(self, key: SealedKey) -> None:
        with self._db.write() as uow:
            uow.connection.execute(
                insert(sealed_keys).values(
                    key_id=key.key_id,
                    key_type=key.key_type,
                    purpose=key.purpose,
                    blob=key.blob,
                    created_at=self._clock.now(),
                )
            )

    def get_key(self, key_id: str) -> SealedKey | None:
        with self._db.read() as uow:
            row = uow.connection.execute(select(sealed_keys).where(sealed_keys.c.key_id == key_id)).mappings().first()
        if row is None:
            return None
        return SealedKey(key_id=row["key_id"], key_type=row["key_type"], purpose=row["purpose"], blob=row["blob"])

    def delete_key(self, key_id: str) -> None:
        with self._db.write() as uow:
            uow.connection.execute(delete(sealed_keys).where(sealed_keys.c.key_id == key_id))

    def get_check(self) -> str | None:
        with self._db.read() as uow:
            return uow.connection.execute(
                select(keystore_checks.c.check_blob).where(keystore_checks.c.id == 1)
            ).scalar()

    def put_check(self, check: str) -> None:
        with self._db.write() as uow:
            uow.connection.execute(insert(keystore_checks).values(id=1, check_blob=check))
