"""Persistence: the only package that imports SQLAlchemy.

Tables and rows never leave this package: repositories return records from
:mod:`chancery.domain.records`. Services own transaction scope through
:class:`~chancery.store.database.Database` (``read()``/``write()``) and the
:class:`~chancery.store.group_commit.GroupCommitWriter`. Schema changes are
Alembic migrations under ``store/migrations``.
"""
