"""API bearer tokens: created once, shown once, stored as SHA-256 hashes.

A token reads ``chy_<id>_<secret>``: the id finds the stored record, the
secret (256 bits from the CSPRNG) is compared by hash in constant time.
A fast hash suffices because the secret has full entropy (no dictionary to
attack), unlike a password.

Authenticated tokens are remembered for ``cache_seconds`` (default 5), so the
API does not read the database on every request: a token revoked or expired
on another node stops working within that time; on this node, at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

from chancery.clock import Clock
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal, Role
from chancery.domain.records import ApiTokenRecord
from chancery.errors import Malformed, NotFound, Unauthorized
from chancery.services.authorization import require
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

_TOKEN = re.compile(r"^chy_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class NewToken:
    record: ApiTokenRecord
    token: str = field(repr=False)


class TokenService:
    def __init__(
        self, transactions: Transactions, writer: DurableWriter, clock: Clock, cache_seconds: float = 5.0
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiTokenRecord]] = {}
        self._lock = threading.Lock()

    def create(
        self, principal: Principal, name: str, roles: frozenset[Role], expires_in: dt.timedelta | None = None
    ) -> NewToken:
        """Create a token; the only time its secret exists outside the client."""
        require(principal, Permission.TOKEN_MANAGE)
        if not name or len(name) > 128:
            raise Malformed("token name must have 1 to 128 characters")
        if not roles:
            raise Malformed("a token needs at least one role")
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = self._clock.now()
        record = ApiTokenRecord(
            token_id=token_id,
            name=name,
            secret_sha256=_hash(secret),
            roles=frozenset(r.value for r in roles),
            created_at=now,
            expires_at=now + expires_in if expires_in else None,
        )
        self._writer.run(lambda uow: uow.tokens.add(record))
        return NewToken(record=record, token=f"chy_{token_id}_{secret}")

    def authenticate(self, token: str) -> Principal:
        """The principal a bearer token stands for; raise :class:`Unauthorized` otherwise."""
        match = _TOKEN.fullmatch(token.strip())
        if match is None:
            raise Unauthorized("invalid bearer token")
        token_id, secret = match.groups()
        digest = _hash(secret)
        record = self._cached(token_id)
        if record is None:
            with self._tx.read() as uow:
                record = uow.tokens.get(token_id)
        # Compare a hash even when the id is unknown, so timing does not tell ids apart.
        expected = record.secret_sha256 if record is not None else "0" * 64
        if not hmac.compare_digest(expected, digest) or record is None:
            raise Unauthorized("invalid bearer token")
        if not record.usable_at(self._clock.now()):
            self._forget(token_id)
            raise Unauthorized("the bearer token has expired or was revoked")
        self._remember(record)
        return Principal(name=f"token:{record.name}", roles=frozenset(Role(r) for r in record.roles))

    def _cached(self, token_id: str) -> ApiTokenRecord | None:
        with self._lock:
            hit = self._cache.get(token_id)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def _remember(self, record: ApiTokenRecord) -> None:
        if self._cache_seconds <= 0:
            return
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[record.token_id] = (time.monotonic() + self._cache_seconds, record)

    def _forget(self, token_id: str) -> None:
        with self._lock:
            self._cache.pop(token_id, None)

    def list(self, principal: Principal) -> tuple[ApiTokenRecord, ...]:
        require(principal, Permission.TOKEN_MANAGE)
        with self._tx.read() as uow:
            return uow.tokens.list()

    def revoke(self, principal: Principal, token_id: str) -> None:
        require(principal, Permission.TOKEN_MANAGE)
        now = self._clock.now()

        def revoke(uow: UnitOfWork) -> bool:
            return uow.tokens.revoke(token_id, now)

        if not self._writer.run(revoke):
            raise NotFound(f"no active token {token_id!r}")
        self._forget(token_id)

    def has_tokens(self) -> bool:
        with self._tx.read() as uow:
            return bool(uow.tokens.list())


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()
