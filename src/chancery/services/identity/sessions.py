"""Portal sessions: opaque cookies, idle and absolute timeouts, CSRF tokens bound to the session.

The cookie value (256 random bits) is stored only as its SHA-256, like API
tokens. Each session has a CSRF token (OWASP "synchronizer token"); forms
carry it and :meth:`SessionService.check_csrf` compares it in constant time.
The web layer sets the cookie ``Secure; HttpOnly; SameSite=Strict`` (see
:data:`COOKIE_ATTRIBUTES`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.identity import SessionRecord
from chancery.domain.principals import Principal
from chancery.errors import Forbidden, Unauthorized
from chancery.services.identity.authentication import Login
from chancery.services.identity.principals import principal_for
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

COOKIE_NAME = "chancery_session"
COOKIE_ATTRIBUTES = {"secure": True, "httponly": True, "samesite": "strict", "path": "/"}
IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
_TOUCH_EVERY = dt.timedelta(minutes=1)  # last-seen writes at most this often


@dataclass(frozen=True)
class NewSession:
    """What the browser gets: the cookie value and the CSRF token for its forms (never stored)."""

    cookie: str = field(repr=False)
    csrf_token: str = field(repr=False)
    expires_at: dt.datetime


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    record: SessionRecord


class SessionService:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        idle: dt.timedelta = IDLE_TIMEOUT,
        absolute: dt.timedelta = ABSOLUTE_TIMEOUT,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._idle = idle
        self._absolute = absolute

    def start(self, login: Login) -> NewSession:
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self._clock.now()
        record = SessionRecord(_hash(cookie), login.user.name, now, now, now + self._absolute, _hash(csrf))

        def add(uow: UnitOfWork) -> None:
            uow.sessions.add(record)
            uow.audit.append([AuditEvent("session.started", login.user.name, target=login.user.name)], now)

        self._writer.run(add)
        return NewSession(cookie=cookie, csrf_token=csrf, expires_at=record.expires_at)

    def resume(self, cookie: str) -> ActiveSession:
        """The session a cookie belongs to, with the user's roles as they are now."""
        if not cookie or len(cookie) > 100:
            raise Unauthorized("no session")
        now = self._clock.now()
        digest = _hash(cookie)
        with self._tx.read() as uow:
            record = uow.sessions.get(digest)
            user = uow.users.get(record.user_name) if record is not None else None
            principal = principal_for(uow, user, kind="session") if user is not None else None
        if record is None or user is None or principal is None:
            raise Unauthorized("no session")
        if record.ended_at is not None or user.disabled:
            raise Unauthorized("the session has ended")
        if now >= record.expires_at or now - record.last_seen_at >= self._idle:
            self.end(cookie, reason="timeout")
            raise Unauthorized("the session has expired; log in again")
        if now - record.last_seen_at >= _TOUCH_EVERY:
            self._writer.run(lambda uow: uow.sessions.touch(digest, now))
        return ActiveSession(principal=principal, record=record)

    @staticmethod
    def check_csrf(session: ActiveSession, token: str | None) -> None:
        """Raise :class:`Forbidden` unless ``token`` is this session's CSRF token."""
        if not token or not hmac.compare_digest(_hash(token), session.record.csrf_hash):
            raise Forbidden("missing or wrong CSRF token")

    def end(self, cookie: str, reason: str = "logout") -> None:
        now = self._clock.now()
        digest = _hash(cookie)

        def work(uow: UnitOfWork) -> None:
            record = uow.sessions.get(digest)
            if record is not None and uow.sessions.end(digest, now):
                event = AuditEvent(
                    "session.ended", record.user_name, target=record.user_name, details={"reason": reason}
                )
                uow.audit.append([event], now)

        self._writer.run(work)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
