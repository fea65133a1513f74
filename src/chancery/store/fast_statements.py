"""Hot-path statements executed with the driver's executemany, compiled once per dialect.

SQLAlchemy Core spends most of a small statement's time building parameters
through its generic machinery. For the two statements every issuance runs
(insert a reservation, store the certificate over it), this module compiles the
SQL once per dialect and applies the columns' own bind processors (so values are
stored exactly as SQLAlchemy would store them), then hands the rows to the
driver in one executemany.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.expression import Executable


class FastStatement:
    """``statement`` compiled for one dialect, with its parameters processed like SQLAlchemy does."""

    def __init__(self, statement: Executable, table: Table, dialect: Dialect, keys: Sequence[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
        self.sql: str = compiled.string
        self._positional: tuple[str, ...] | None = tuple(compiled.positiontup) if compiled.positiontup else None
        columns = {c.key: c for c in table.columns}
        # Values fixed in the statement itself (``state = 'reserved'``) are binds too.
        self._fixed = {name: value for name, value in compiled.params.items() if name not in keys}
        self._processors: dict[str, Callable[[Any], Any]] = {}
        for name in compiled.binds:
            bind = compiled.binds[name]
            # dialect_impl: a TypeDecorator's own step *and* the dialect's (SQLite's DATETIME text
            # format with microseconds), exactly the chain SQLAlchemy runs for a statement.
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is None and name in columns:
                processor = columns[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._processors[name] = processor

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run for every row in one executemany; return the rows affected."""
        processors = self._processors
        fixed = self._fixed
        prepared = [
            {k: (processors[k](v) if k in processors and v is not None else v) for k, v in {**fixed, **row}.items()}
            for row in rows
        ]
        if self._positional is not None:
            names = self._positional
            params: list[Any] = [tuple(row[name] for name in names) for row in prepared]
        else:
            params = prepared
        result = conn.exec_driver_sql(self.sql, params)
        return int(result.rowcount)


class FastStatements:
    """Per-dialect cache of :class:`FastStatement` objects."""

    def __init__(self, build: Callable[[Dialect], FastStatement]) -> None:
        self._build = build
        self._by_dialect: dict[str, FastStatement] = {}

    def for_connection(self, conn: Connection) -> FastStatement:
        key = conn.dialect.name + "+" + (conn.dialect.driver or "")
        statement = self._by_dialect.get(key)
        if statement is None:
            statement = self._by_dialect[key] = self._build(conn.dialect)
        return statement
