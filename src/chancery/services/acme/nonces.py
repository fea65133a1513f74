"""Replay nonces (RFC 8555 §6.5) that work on every node sharing the database.

A nonce is 16 random bytes, its expiry and an HMAC-SHA256 tag under a key every node reads
(sealed, in the database): any node can check it without a lookup, and a nonce made by another
server fails its tag. Redeeming inserts it into a table with a unique key, so it is used once,
cluster-wide; the rows are swept after they expire.

A signed request's nonce is recorded in the same commit as the request's first write (see
:meth:`Nonces.redeeming` and :class:`RedeemingWriter`): the insert and the change commit together
or not at all, and a request that writes nothing records it in a group commit of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import struct
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from chancery.clock import Clock
from chancery.domain.acme import b64url, b64url_decode
from chancery.errors import CAError
from chancery.keys.base import SecretSealer
from chancery.services.acme.errors import BadNonce
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

NONCE_LIFETIME = dt.timedelta(hours=1)
_KEY_NAME = "nonce-mac"
_TAG = 16
T = TypeVar("T")


@dataclass
class Redemption:
    """A nonce whose tag and expiry checked out; ``recorded`` once its use is committed."""

    nonce: str
    expires: dt.datetime
    recorded: bool = False

    def record(self, uow: UnitOfWork) -> None:
        """Insert the nonce as used; a nonce used before (on any node) fails its unique key."""
        if not uow.acme.consume_nonce(self.nonce, self.expires):
            raise BadNonce("the nonce was used already")


# The nonce of the signed request this thread is serving, not recorded yet (see Nonces.redeeming).
_pending: ContextVar[Redemption | None] = ContextVar("chancery_acme_pending_nonce", default=None)


class RedeemingWriter:
    """The ACME services' writer: the first write of a signed request also records its nonce,
    in the same transaction (one durable commit, not two). Other writes pass through."""

    def __init__(self, writer: DurableWriter) -> None:
        self._writer = writer

    def run(self, work: Callable[[UnitOfWork], T]) -> T:
        redemption = _pending.get()
        if redemption is None or redemption.recorded:
            return self._writer.run(work)

        def both(uow: UnitOfWork) -> T:
            redemption.record(uow)
            return work(uow)

        result = self._writer.run(both)
        redemption.recorded = True
        return result

    def submit(self, work: Callable[[UnitOfWork], T]) -> Future[T]:
        return self._writer.submit(work)

    def submit_async(self, work: Callable[[UnitOfWork], T]) -> Awaitable[T]:
        return self._writer.submit_async(work)


class Nonces:
    def __init__(self, transactions: Transactions, writer: DurableWriter, clock: Clock, secrets_: SecretSealer) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._secrets = secrets_
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def new(self) -> str:
        expiry = int((self._clock.now() + NONCE_LIFETIME).timestamp())
        body = secrets.token_bytes(16) + struct.pack(">Q", expiry)
        return b64url(body + self._tag(body))

    def redeem(self, nonce: object) -> None:
        """Accept ``nonce`` once (RFC 8555 §6.5), in a commit of its own; raises :class:`BadNonce`."""
        self.record(self.check(nonce))

    def record(self, redemption: Redemption) -> None:
        """Record a checked nonce as used now, in a (group) commit of its own."""
        if not redemption.recorded:
            self._writer.run(redemption.record)
            redemption.recorded = True

    @contextmanager
    def redeeming(self, redemption: Redemption) -> Iterator[None]:
        """Serve a signed request whose nonce is recorded by its first write through a
        :class:`RedeemingWriter` (same transaction). If the block wrote nothing, or its write
        rolled back, the nonce is recorded on leaving it; a used nonce fails the request with
        ``badNonce`` (RFC 8555 §6.5) before any other answer, as if it had been checked first.
        Only for work whose every write goes through a RedeemingWriter."""
        token = _pending.set(redemption)
        try:
            yield
        except Exception:
            _pending.reset(token)
            self.record(redemption)
            raise
        _pending.reset(token)
        self.record(redemption)

    def check(self, nonce: object) -> Redemption:
        """A nonce this server issued and that has not expired (RFC 8555 §6.5); raises :class:`BadNonce`."""
        if not isinstance(nonce, str) or not 20 <= len(nonce) <= 64:
            raise BadNonce("the JWS carries no valid nonce")
        try:
            raw = b64url_decode(nonce)
        except CAError:
            raise BadNonce("the nonce is not base64url") from None
        body, tag = raw[:-_TAG], raw[-_TAG:]
        if len(body) != 24 or not hmac.compare_digest(tag, self._tag(body)):
            raise BadNonce("this server did not issue that nonce")
        expires = dt.datetime.fromtimestamp(struct.unpack(">Q", body[16:])[0], dt.timezone.utc)
        if expires <= self._clock.now():
            raise BadNonce("the nonce has expired")
        return Redemption(nonce, expires)

    def sweep(self) -> int:
        now = self._clock.now()
        return self._writer.run(lambda uow: uow.acme.sweep_nonces(now))

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._mac_key(), body, hashlib.sha256).digest()[:_TAG]

    def _mac_key(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = self._load_or_create()
            return self._key

    def _load_or_create(self) -> bytes:
        with self._tx.read() as uow:
            sealed = uow.acme.get_secret(_KEY_NAME)
        if sealed is None:
            candidate = self._secrets.seal_secret(f"acme:{_KEY_NAME}", secrets.token_bytes(32))
            now = self._clock.now()

            def store(uow: UnitOfWork) -> str:
                uow.acme.add_secret(_KEY_NAME, candidate, now)
                stored = uow.acme.get_secret(_KEY_NAME)
                assert stored is not None
                return stored

            sealed = self._writer.run(store)
        return self._secrets.open_secret(f"acme:{_KEY_NAME}", sealed)
