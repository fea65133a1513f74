"""The ports services need, as consumer-owned Protocols (satisfied by ``store`` and ``keys``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar

from chancery.domain.queries import CertificateFilter, Page, PageRequest
from chancery.domain.records import (
    ApiTokenRecord,
    CertificateAuthorityRecord,
    CertificateRecord,
    Revocation,
    TrustAnchorRecord,
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
    def revoke(self, ca_name: str, serial: SerialNumber, revocation: Revocation) -> bool: ...
    def release_hold(self, ca_name: str, serial: SerialNumber) -> bool: ...


class TokenRepository(Protocol):
    def add(self, record: ApiTokenRecord) -> None: ...
    def get(self, token_id: str) -> ApiTokenRecord | None: ...
    def list(self) -> tuple[ApiTokenRecord, ...]: ...
    def revoke(self, token_id: str, at: dt.datetime) -> bool: ...


class TrustAnchorRepository(Protocol):
    def add(self, record: TrustAnchorRecord) -> None: ...
    def list(self) -> tuple[TrustAnchorRecord, ...]: ...


class UnitOfWork(Protocol):
    authorities: AuthorityRepository
    certificates: CertificateRepository
    tokens: TokenRepository
    trust_anchors: TrustAnchorRepository


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
