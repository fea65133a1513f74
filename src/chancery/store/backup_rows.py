"""Table rows as JSON lines: the portable form a PostgreSQL backup takes.

A table part starts with ``{"table": name, "columns": [...]}`` and has one JSON
array per row after it. Values JSON cannot carry are tagged: ``{"b": base64}``
for bytes, ``{"t": ISO 8601}`` for timestamps (naive UTC, as stored),
``{"d": ...}`` for dates and ``{"n": "..."}`` for decimals.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import MetaData, Table, func, select
from sqlalchemy.engine import Connection

from chancery.errors import Malformed

BLOCK_BYTES = 256 * 1024
SKIPPED_TABLES = frozenset({"alembic_version"})  # the schema revision travels in the manifest


def reflect(conn: Connection) -> list[Table]:
    """The tables of the connected database in dependency order (referenced tables first)."""
    metadata = MetaData()
    metadata.reflect(bind=conn)
    return [t for t in metadata.sorted_tables if t.name not in SKIPPED_TABLES]


def row_counts(conn: Connection, tables: Sequence[Table]) -> dict[str, int]:
    return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in tables}


def encode_table(conn: Connection, table: Table) -> Iterator[tuple[bytes, int]]:
    """Yield (JSON-lines block, rows in it) for every row of ``table``, streamed from the server."""
    columns = [c.name for c in table.columns]
    lines = [json.dumps({"table": table.name, "columns": columns}).encode() + b"\n"]
    size, rows = len(lines[0]), 0
    ordering = list(table.primary_key.columns) or list(table.columns)
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(select(table).order_by(*ordering))
    for row in result:
        line = json.dumps([_encode(v) for v in row], separators=(",", ":")).encode() + b"\n"
        lines.append(line)
        size += len(line)
        rows += 1
        if size >= BLOCK_BYTES:
            yield b"".join(lines), rows
            lines, size, rows = [], 0, 0
    yield b"".join(lines), rows


class TableDecoder:
    """Parses one table part fed in blocks; hands out rows as column -> value mappings."""

    def __init__(self) -> None:
        self._pending = b""
        self.table: str | None = None
        self.columns: list[str] = []

    def feed(self, block: bytes) -> list[dict[str, Any]]:
        data = self._pending + block
        *lines, self._pending = data.split(b"\n")
        return self._parse(lines)

    def close(self) -> list[dict[str, Any]]:
        rest, self._pending = self._pending, b""
        rows = self._parse([rest] if rest else [])
        if self.table is None:
            raise Malformed("a table part of the backup has no header line")
        return rows

    def _parse(self, lines: list[bytes]) -> list[dict[str, Any]]:
        rows = []
        for line in lines:
            value = json.loads(line)
            if self.table is None:
                self.table, self.columns = str(value["table"]), [str(c) for c in value["columns"]]
                continue
            if not isinstance(value, list) or len(value) != len(self.columns):
                raise Malformed(f"a row of table {self.table} in the backup has the wrong shape")
            rows.append(dict(zip(self.columns, (_decode(v) for v in value), strict=True)))
        return rows


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"n": str(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot back up a value of type {type(value).__name__}")


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "b" in value:
        return base64.b64decode(value["b"])
    if "t" in value:
        return dt.datetime.fromisoformat(value["t"])
    if "d" in value:
        return dt.date.fromisoformat(value["d"])
    if "n" in value:
        return decimal.Decimal(value["n"])
    raise Malformed("a tagged value in the backup has an unknown tag")
