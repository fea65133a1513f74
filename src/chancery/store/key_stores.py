"""The key stores' rows: the PKCS#11 configuration and the keys Chancery uses in the token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chancery.domain.keystores import HsmKeyRecord, PinKind, PinSource, Pkcs11Config, Pkcs11Settings
from chancery.errors import Conflict
from chancery.store.tables import hsm_keys, pkcs11_settings

if TYPE_CHECKING:  # the unit of work imports this module, and the database imports the unit of work
    from chancery.clock import Clock
    from chancery.store.database import Database


class KeyStoreRepository:
    """The configuration (one row) and a read of the recorded HSM keys, in the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get_pkcs11(self) -> Pkcs11Settings | None:
        row = self._conn.execute(select(pkcs11_settings).where(pkcs11_settings.c.id == 1)).mappings().first()
        if row is None:
            return None
        config = Pkcs11Config(
            module=row["module"],
            pin=PinSource(PinKind(row["pin_kind"]), row["pin_reference"]),
            token_label=row["token_label"],
            slot=row["slot"],
        )
        return Pkcs11Settings(config=config, updated_at=row["updated_at"], updated_by=row["updated_by"])

    def put_pkcs11(self, settings: Pkcs11Settings) -> None:
        config = settings.config
        values = {
            "module": config.module,
            "token_label": config.token_label,
            "slot": config.slot,
            "pin_kind": config.pin.kind.value,
            "pin_reference": config.pin.reference,
            "updated_at": settings.updated_at,
            "updated_by": settings.updated_by,
        }
        if self._conn.execute(update(pkcs11_settings).where(pkcs11_settings.c.id == 1).values(**values)).rowcount == 0:
            self._conn.execute(insert(pkcs11_settings).values(id=1, **values))

    def hsm_keys(self) -> tuple[HsmKeyRecord, ...]:
        rows = self._conn.execute(select(hsm_keys).order_by(hsm_keys.c.created_at, hsm_keys.c.key_id)).mappings()
        return tuple(_record(row) for row in rows)


class SqlHsmKeyRegistry:
    """Satisfies :class:`chancery.keys.pkcs11.registry.HsmKeyRegistry`; each call is its own transaction."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    def add(self, key: HsmKeyRecord) -> None:
        try:
            with self._db.write() as uow:
                uow.connection.execute(
                    insert(hsm_keys).values(
                        key_id=key.key_id,
                        label=key.label,
                        key_type=key.key_type,
                        purpose=key.purpose,
                        public_key_der=key.public_key_der,
                        adopted=key.adopted,
                        created_at=self._clock.now(),
                    )
                )
        except IntegrityError:
            raise Conflict(f"key {key.key_id} is already recorded") from None

    def get(self, key_id: str) -> HsmKeyRecord | None:
        with self._db.read() as uow:
            row = uow.connection.execute(select(hsm_keys).where(hsm_keys.c.key_id == key_id)).mappings().first()
        return None if row is None else _record(row)

    def remove(self, key_id: str) -> None:
        with self._db.write() as uow:
            uow.connection.execute(delete(hsm_keys).where(hsm_keys.c.key_id == key_id))

    def list(self) -> tuple[HsmKeyRecord, ...]:
        with self._db.read() as uow:
            return uow.key_stores.hsm_keys()


def _record(row: Any) -> HsmKeyRecord:
    return HsmKeyRecord(
        key_id=row["key_id"],
        label=row["label"],
        key_type=row["key_type"],
        purpose=row["purpose"],
        public_key_der=bytes(row["public_key_der"]),
        adopted=bool(row["adopted"]),
        created_at=row["created_at"],
    )
