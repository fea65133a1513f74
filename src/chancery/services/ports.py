"""The ports services need, as consumer-owned Protocols (satisfied by ``store`` and ``keys``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from chancery.domain.queries import CertificateFilter, Page, PageRequest, RevocationFilter
from chancery.domain.records import (
    ApiTokenRecord,
    CertificateAuthorityRecord,
    CertificateRecord,
    Revocation,
    TrustAnchorRecord,
)
from chancery.domain.revocation_records import (
    CrlRecord,
    CrlScope,
    OcspResponseRecord,
    ResponderRecord,
    RevocationEvent,
    RevocationSettings,
)
from chancery.domain.serials import SerialNumber

T = TypeVar("T")


class AuthorityRepository(Protocol):
    def add(self, record: CertificateAuthorityRecord) -> None: ...
    def save(self, record: CertificateAuthorityRecord) -> None: ...
    def get(self, name: str) -> CertificateAuthorityRecord | None: ...
    def list(self) -> tuple[CertificateAuthorityRecord, ...]: ...


class CertificateReader(Protocol):
    """Read-only view of certificates (what CRL/OCSP and listings get)."""

    def get(self, ca_name: str, serial: SerialNumber) -> CertificateRecord | None: ...
    def search(self, query: CertificateFilter, page: PageRequest, now: dt.datetime) -> Page[CertificateRecord]: ...


class CertificateRepository(CertificateReader, Protocol):
    def reserve(self, record: CertificateRecord) -> None: ...
    def reserve_many(self, records: list[CertificateRecord]) -> None: ...
    def mark_issued(self, ca_name: str, serial: SerialNumber, der: bytes) -> None: ...
    def mark_issued_many(self, items: list[tuple[str, SerialNumber, bytes]]) -> None: ...
    def revoke(self, ca_name: str, serial: SerialNumber, revocation: Revocation, crl_entry: bytes) -> bool: ...
    def revoke_many(self, ca_name: str, items: list[tuple[SerialNumber, bytes]], revocation: Revocation) -> int: ...
    def release_hold(self, ca_name: str, serial: SerialNumber) -> bool: ...
    def revocable(self, query: RevocationFilter, now: dt.datetime) -> list[tuple[SerialNumber, int | None]]: ...
    def crl_entries(self, ca_name: str, partition: int | None, expired_since: dt.datetime) -> Iterator[bytes]: ...


class TokenRepository(Protocol):
    def add(self, record: ApiTokenRecord) -> None: ...
    def get(self, token_id: str) -> ApiTokenRecord | None: ...
    def list(self) -> tuple[ApiTokenRecord, ...]: ...
    def revoke(self, token_id: str, at: dt.datetime) -> bool: ...


class TrustAnchorRepository(Protocol):
    def add(self, record: TrustAnchorRecord) -> None: ...
    def list(self) -> tuple[TrustAnchorRecord, ...]: ...


class RevocationSettingsRepository(Protocol):
    def get(self, ca_name: str) -> RevocationSettings | None: ...
    def put(self, settings: RevocationSettings) -> None: ...


class RevocationEventRepository(Protocol):
    def add_many(self, events: list[dict[str, Any]]) -> None: ...
    def latest_id(self, ca_name: str | None = None) -> int: ...
    def since(self, after_id: int, ca_name: str | None = None, limit: int = 100_000) -> list[RevocationEvent]: ...


class CrlRepository(Protocol):
    def add(self, record: CrlRecord) -> None: ...
    def latest(self, ca_name: str, scope: CrlScope, partition: int = -1) -> CrlRecord | None: ...
    def highest_number(self, ca_name: str) -> int: ...
    def prune(self, ca_name: str, keep: int = 10) -> None: ...


class OcspResponseRepository(Protocol):
    def get(self, ca_name: str, serial: str, hash_algorithm: str) -> OcspResponseRecord | None: ...
    def for_serial(self, ca_name: str, serial: str) -> list[OcspResponseRecord]: ...
    def put_many(self, records: list[OcspResponseRecord]) -> None: ...
    def delete_for(self, ca_name: str, serials: list[str]) -> None: ...
    def stale(self, before: dt.datetime, limit: int) -> list[OcspResponseRecord]: ...


class ResponderRepository(Protocol):
    def current(self, ca_name: str) -> ResponderRecord | None: ...
    def add(self, record: ResponderRecord) -> None: ...


class UnitOfWork(Protocol):
    authorities: AuthorityRepository
    certificates: CertificateRepository
    tokens: TokenRepository
    trust_anchors: TrustAnchorRepository
    revocation_settings: RevocationSettingsRepository
    revocation_events: RevocationEventRepository
    crls: CrlRepository
    ocsp_responses: OcspResponseRepository
    ocsp_responders: ResponderRepository


class Transactions(Protocol):
    """Opens units of work: ``read()`` is rolled back, ``write()`` commits on success."""

    def read(self) -> AbstractContextManager[UnitOfWork]: ...
    def write(self) -> AbstractContextManager[UnitOfWork]: ...


class DurableWriter(Protocol):
    """Runs write work and returns once it is committed and durable (group commit)."""

    def run(self, work: Callable[[UnitOfWork], T]) -> T: ...

    def submit(self, work: Callable[[UnitOfWork], T]) -> Future[T]:
        """Queue ``work``; the future completes after the commit that includes it."""
        ...

    def submit_async(self, work: Callable[[UnitOfWork], T]) -> Awaitable[T]:
        """:meth:`submit` from the event loop."""
        ...


class RevocationListener(Protocol):
    """Told, after the commit, which certificates of a CA changed revocation state."""

    def revocations_changed(self, ca_name: str, serials: list[str]) -> None: ...


class ClusterLock(Protocol):
    """Work that must run once per cluster (CRL generation, pre-signing) takes this lock.

    ``hold(name)`` yields True when this node has the lock (and keeps it for the
    block), False when another node holds it.
    """

    def hold(self, name: str) -> AbstractContextManager[bool]: ...
