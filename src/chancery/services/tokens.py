"""API bearer tokens: created once, shown once, stored as SHA-256 hashes.

A token reads ``chy_<id>_<secret>``: the id finds the stored record, the
secret (256 bits from the CSPRNG) is compared by hash in constant time.
A fast hash suffices because the secret has full entropy (no dictionary to
attack), unlike a password.

A user's token acts with the user's roles as they are when it is used (a
role revoked, or the user disabled, takes effect at the next check); a service
token has roles of its own. Either may be limited to one CA.

Authenticated tokens are remembered for ``cache_seconds`` (default 5), so the
API does not read the database on every request: a token revoked or expired
on another node stops working within that time; on this node, at once. Token
use is audited when a token is looked up, at most once a minute per token.
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
from chancery.domain.audit import AuditEvent
from chancery.domain.names import ca_name
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal, Role
from chancery.domain.records import ApiTokenRecord
from chancery.errors import Malformed, NotFound, Unauthorized
from chancery.services.authorization import require
from chancery.services.identity.authentication import Login
from chancery.services.identity.principals import narrowed, principal_for
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

_TOKEN = re.compile(r"^chy_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_CACHE_LIMIT = 10_000
_AUDIT_USE_EVERY = 60.0  # seconds
LOGIN_TOKEN_LIFETIME = dt.timedelta(hours=8)
USER_TOKEN_LIFETIME = dt.timedelta(days=90)  # `chancery token create` without --expires
MAX_USER_TOKEN_LIFETIME = dt.timedelta(days=3660)


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
        self._cache: dict[str, tuple[float, ApiTokenRecord, Principal]] = {}
        self._audited: dict[str, float] = {}
        self._lock = threading.Lock()

    def create(
        self,
        principal: Principal,
        name: str,
        roles: frozenset[Role],
        expires_in: dt.timedelta | None = None,
        ca: str | None = None,
    ) -> NewToken:
        """A service token with roles of its own (automation); the only time its secret is seen."""
        require(principal, Permission.TOKEN_MANAGE)
        if not roles:
            raise Malformed("a token needs at least one role")
        return self._create(principal, name, frozenset(r.value for r in roles), None, expires_in, ca)

    def create_for_user(
        self,
        principal: Principal,
        user: str,
        name: str = "api",
        expires_in: dt.timedelta | None = None,
        ca: str | None = None,
    ) -> NewToken:
        """A token that acts as ``user`` (with the user's roles, at most on ``ca``); users may make their own.

        Every user token expires (``expires_in``, by default :data:`USER_TOKEN_LIFETIME`), so a stolen
        login token cannot be turned into a credential that lives for ever."""
        if principal.name != user:
            require(principal, Permission.TOKEN_MANAGE)
        expires_in = USER_TOKEN_LIFETIME if expires_in is None else expires_in
        if not dt.timedelta(minutes=1) <= expires_in <= MAX_USER_TOKEN_LIFETIME:
            raise Malformed("a user token lives between a minute and ten years")
        with self._tx.read() as uow:
            record = uow.users.get(user)
        if record is None or record.disabled:
            raise NotFound(f"no active user {user[:128]!r}")
        return self._create(principal, name, frozenset(), user, expires_in, ca)

    def create_for_login(self, login: Login, lifetime: dt.timedelta = LOGIN_TOKEN_LIFETIME) -> NewToken:
        """The token ``POST /api/v1/auth/login`` answers with (the user proved who they are)."""
        return self._create(login.principal, "login", frozenset(), login.user.name, lifetime, None)

    def _create(
        self,
        principal: Principal,
        name: str,
        roles: frozenset[str],
        user: str | None,
        expires_in: dt.timedelta | None,
        ca: str | None,
    ) -> NewToken:
        if not name or len(name) > 128:
            raise Malformed("token name must have 1 to 128 characters")
        if ca is not None:
            ca_name(ca)
        if expires_in is not None and expires_in <= dt.timedelta(0):
            raise Malformed("a token's lifetime must be positive")
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = self._clock.now()
        record = ApiTokenRecord(
            token_id=token_id,
            name=name,
            secret_sha256=_hash(secret),
            roles=roles,
            created_at=now,
            expires_at=now + expires_in if expires_in else None,
            user_name=user,
            ca_scope=ca,
        )

        def add(uow: UnitOfWork) -> None:
            uow.tokens.add(record)
            details = {"token": token_id, "name": name, "user": user, "roles": sorted(roles), "ca": ca}
            details["expires_at"] = record.expires_at.isoformat() if record.expires_at else None
            uow.audit.append(
                [AuditEvent("token.created", principal.name, ca=ca, target=user or f"token:{name}", details=details)],
                now,
            )

        self._writer.run(add)
        return NewToken(record=record, token=f"chy_{token_id}_{secret}")

    def authenticate(self, token: str) -> Principal:
        """The principal a bearer token stands for; raise :class:`Unauthorized` otherwise."""
        match = _TOKEN.fullmatch(token.strip())
        if match is None:
            raise Unauthorized("invalid bearer token")
        token_id, secret = match.groups()
        digest = _hash(secret)
        cached = self._cached(token_id)
        if cached is not None:
            record, principal = cached
            if hmac.compare_digest(record.secret_sha256, digest) and record.usable_at(self._clock.now()):
                return principal
            self._forget(token_id)
        with self._tx.read() as uow:
            record = uow.tokens.get(token_id)
            principal = self._principal(uow, record) if record is not None else None
        # Compare a hash even when the id is unknown, so timing does not tell ids apart.
        expected = record.secret_sha256 if record is not None else "0" * 64
        if not hmac.compare_digest(expected, digest) or record is None or principal is None:
            raise Unauthorized("invalid bearer token")
        if not record.usable_at(self._clock.now()):
            raise Unauthorized("the bearer token has expired or was revoked")
        self._note_use(record, principal)
        self._remember(record, principal)
        return principal

    @staticmethod
    def _principal(uow: UnitOfWork, record: ApiTokenRecord) -> Principal | None:
        if record.user_name is None:
            principal = Principal(f"token:{record.name}", frozenset(Role(r) for r in record.roles), kind="service")
        else:
            user = uow.users.get(record.user_name)
            if user is None or user.disabled:
                return None
            principal = principal_for(uow, user, kind="token")
        return narrowed(principal, record.ca_scope)

    def _note_use(self, record: ApiTokenRecord, principal: Principal) -> None:
        """Audit that a token is in use, at most once a minute per token (fail closed if it cannot)."""
        now = time.monotonic()
        with self._lock:
            last = self._audited.get(record.token_id)
            if last is not None and now - last < _AUDIT_USE_EVERY:
                return
            if len(self._audited) >= _CACHE_LIMIT:
                self._audited.clear()
            self._audited[record.token_id] = now
        at = self._clock.now()
        event = AuditEvent(
            "token.used", principal.name, ca=record.ca_scope, target=record.token_id, details={"name": record.name}
        )
        self._writer.run(lambda uow: uow.audit.append([event], at))

    def _cached(self, token_id: str) -> tuple[ApiTokenRecord, Principal] | None:
        with self._lock:
            hit = self._cache.get(token_id)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1], hit[2]

    def _remember(self, record: ApiTokenRecord, principal: Principal) -> None:
        if self._cache_seconds <= 0:
            return
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[record.token_id] = (time.monotonic() + self._cache_seconds, record, principal)

    def forget_cached(self) -> None:
        """Drop every cached principal (users, groups or grants changed)."""
        with self._lock:
            self._cache.clear()

    def _forget(self, token_id: str) -> None:
        with self._lock:
            self._cache.pop(token_id, None)

    def list(self, principal: Principal) -> tuple[ApiTokenRecord, ...]:
        require(principal, Permission.TOKEN_MANAGE)
        with self._tx.read() as uow:
            return uow.tokens.list()

    def revoke(self, principal: Principal, token_id: str) -> None:
        """Revoke a token: token managers any, users their own."""
        with self._tx.read() as uow:
            record = uow.tokens.get(token_id)
        if record is None or record.user_name != principal.name:
            require(principal, Permission.TOKEN_MANAGE)
        now = self._clock.now()

        def revoke(uow: UnitOfWork) -> bool:
            if not uow.tokens.revoke(token_id, now):
                return False
            uow.audit.append([AuditEvent("token.revoked", principal.name, target=token_id)], now)
            return True

        if not self._writer.run(revoke):
            raise NotFound(f"no active token {token_id!r}")
        self._forget(token_id)

    def has_tokens(self) -> bool:
        with self._tx.read() as uow:
            return bool(uow.tokens.list())


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()
