"""The compiled profiles issuance uses, cached.

Versions never change once stored, so a compiled version is kept for the life
of the process; which version is the newest is re-read after ``ttl_seconds``
so edits made on other nodes take effect quickly. Edits made here call
:meth:`ProfileCatalog.forget` at once.
"""

from __future__ import annotations

import threading
import time

from chancery.domain.records import ProfileDocumentKind, ProfileRecord
from chancery.errors import Malformed, NotFound
from chancery.pki.profiles import Profile
from chancery.services.ports import Transactions, UnitOfWork
from chancery.services.profiles.compiling import compile_record


class ProfileCatalog:
    def __init__(self, transactions: Transactions, ttl_seconds: float = 2.0) -> None:
        self._tx = transactions
        self._ttl = ttl_seconds
        self._newest: dict[str, tuple[float, Profile]] = {}
        self._compiled: dict[tuple[str, int], Profile] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Profile:
        """The newest version of certificate profile ``name``; :class:`NotFound` or :class:`Malformed`."""
        now = time.monotonic()
        with self._lock:
            hit = self._newest.get(name)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self._tx.read() as uow:
            record = uow.profiles.latest(name)
            profile = self._compile(uow, name, record)
        with self._lock:
            self._newest[name] = (now + self._ttl, profile)
        return profile

    def version(self, name: str, version: int) -> Profile:
        """One stored version of certificate profile ``name``."""
        with self._lock:
            compiled = self._compiled.get((name, version))
        if compiled is not None:
            return compiled
        with self._tx.read() as uow:
            record = uow.profiles.get(name, version)
            if record is None:
                raise NotFound(f"profile {name[:64]!r} has no version {version}")
            return self._compile(uow, name, record)

    def forget(self) -> None:
        """Re-read which versions are newest (after an edit made in this process)."""
        with self._lock:
            self._newest.clear()

    def _compile(self, uow: UnitOfWork, name: str, record: ProfileRecord | None) -> Profile:
        if record is None:
            raise NotFound(f"unknown profile {name[:64]!r}; `chancery profile list` shows the profiles")
        if record.kind is not ProfileDocumentKind.CERTIFICATE:
            raise Malformed(f"{name!r} is a subject-DN profile; certificates are issued under certificate profiles")
        key = (record.name, record.version)
        with self._lock:
            compiled = self._compiled.get(key)
        if compiled is not None:
            return compiled
        subject = None
        if record.subject_profile is not None and record.subject_version is not None:
            subject = uow.profiles.get(record.subject_profile, record.subject_version)
        compiled = compile_record(record, subject)
        with self._lock:
            self._compiled[key] = compiled
        return compiled
