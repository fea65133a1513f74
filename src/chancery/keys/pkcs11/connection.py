"""A logged-in token and its pool of sessions, shared by every user of that token in the process.

PKCS#11 keeps the login state per application and token (PKCS#11 v2.40 §5.6): every session
of the process on that token is logged in once one is, ``C_Logout`` on any of them logs out
all, and ``C_Login`` while logged in answers ``CKR_USER_ALREADY_LOGGED_IN`` whatever PIN it
is given. So there is one :class:`TokenConnection` per (module, token) in the process: the
first :func:`connect` logs in with an *anchor* session that stays open; later ones must bring
the same PIN (compared with a salted digest, so a wrong PIN never rides on another's login).
Signing sessions come from a pool, opened on demand up to a limit, each signing one operation
at a time; a session that fails with a device error is dropped, not reused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pkcs11
from pkcs11 import ObjectClass

from chancery.domain.keystores import Pkcs11Config
from chancery.errors import CAError, Malformed, TokenUnavailable, WrongPin
from chancery.keys.pkcs11.errors import ConnectionLost, translate
from chancery.keys.pkcs11.module import LoadedModule, load_module

T = TypeVar("T")
DEFAULT_MAX_SESSIONS = 8


@dataclass
class _Pooled:
    """A signing session and the private keys already found in it (by CKA_ID)."""

    session: Any  # pkcs11.Session
    keys: dict[bytes, Any] = field(default_factory=dict)

    def private_key(self, cka_id: bytes) -> Any:
        key = self.keys.get(cka_id)
        if key is None:
            key = self.session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=cka_id)
            self.keys[cka_id] = key
        return key


class TokenConnection:
    """The token of one configuration, logged in, with its session pool."""

    def __init__(self, module: LoadedModule, token: Any, anchor: Any, name: str, max_sessions: int) -> None:
        self.module = module
        self.token = token
        self.name = name  # "token 'chancery-test'": how errors name it
        self._anchor = anchor
        self._admin = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_sessions)
        self._idle: list[_Pooled] = []
        self._idle_lock = threading.Lock()
        self._salt = os.urandom(16)
        self._pin_digest = b""
        self._users = 0
        self.broken = False
        self._mechanisms: frozenset[Any] | None = None

    def __repr__(self) -> str:
        return f"TokenConnection({self.name})"

    # -- use -------------------------------------------------------------------------------

    def mechanisms(self) -> frozenset[Any]:
        """The mechanisms the token's slot offers (asked once)."""
        if self._mechanisms is None:
            self._mechanisms = frozenset(self.call("listing mechanisms", lambda: self.token.slot.get_mechanisms()))
        return self._mechanisms

    def call(self, doing: str, work: Callable[[], T]) -> T:
        """Run ``work`` (a call into the module), translating PKCS#11 errors."""
        with self._serialised():
            try:
                return work()
            except pkcs11.PKCS11Error as exc:
                raise self._failed(exc, doing) from None

    def admin(self, doing: str, work: Callable[[Any], T]) -> T:
        """Run ``work(session)`` on the read-write anchor session (key generation, search, destruction)."""
        with self._admin:
            return self.call(doing, lambda: work(self._anchor))

    @contextmanager
    def signing_session(self, doing: str) -> Iterator[_Pooled]:
        """A pooled session for one signature; waits while all sessions are busy."""
        with self._slots:
            pooled = self._take(doing)
            try:
                with self._serialised():
                    yield pooled
            except pkcs11.PKCS11Error as exc:
                self._discard(pooled)
                raise self._failed(exc, doing) from None
            except CAError:  # refused before the token was asked: the session is fine
                with self._idle_lock:
                    self._idle.append(pooled)
                raise
            except BaseException:
                self._discard(pooled)
                raise
            with self._idle_lock:
                self._idle.append(pooled)

    def _take(self, doing: str) -> _Pooled:
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        return _Pooled(self.call(doing, lambda: self.token.open()))  # logged in through the anchor

    def _discard(self, pooled: _Pooled) -> None:
        with suppress(pkcs11.PKCS11Error):
            pooled.session.close()  # a session opened without a PIN closes without C_Logout

    def _serialised(self) -> AbstractContextManager[object]:
        return self.module.serialise or nullcontext()

    def _failed(self, exc: pkcs11.PKCS11Error, doing: str) -> CAError:
        error = translate(exc, doing, self.name)
        if isinstance(error, ConnectionLost):
            self.broken = True
        return error

    # -- lifetime --------------------------------------------------------------------------

    def _check_pin(self, pin: str) -> None:
        digest = hashlib.sha256(self._salt + pin.encode()).digest()
        if not self._pin_digest:
            self._pin_digest = digest
        elif not hmac.compare_digest(digest, self._pin_digest):
            raise WrongPin(f"{self.name} refused the PIN")

    def _close(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for pooled in idle:
            self._discard(pooled)
        with suppress(pkcs11.PKCS11Error):
            self._anchor.close()  # C_Logout, then C_CloseSession


_connections: dict[tuple[str, str], TokenConnection] = {}
_registry = threading.Lock()


def connect(config: Pkcs11Config, pin: str, max_sessions: int = DEFAULT_MAX_SESSIONS) -> TokenConnection:
    """The logged-in connection to the configured token (shared in the process); release it when done."""
    module = load_module(config.module)
    token = _find_token(module, config)
    key = (module.path, bytes(token.serial).hex())
    with _registry:
        connection = _connections.get(key)
        if connection is not None and connection.broken:
            _connections.pop(key)
            connection._close()
            connection = None
        if connection is None:
            connection = _login(module, token, config, pin, max_sessions)
            _connections[key] = connection
        connection._check_pin(pin)
        connection._users += 1
        return connection


def release(connection: TokenConnection) -> None:
    """One user less; the last one logs out and closes every session."""
    with _registry:
        connection._users -= 1
        if connection._users > 0:
            return
        for key, value in list(_connections.items()):
            if value is connection:
                del _connections[key]
    connection._close()


def _find_token(module: LoadedModule, config: Pkcs11Config) -> Any:
    name = config.describe_token()
    try:
        with module.serialise or nullcontext():
            if config.token_label is not None:
                return module.lib.get_token(token_label=config.token_label)
            for slot in module.lib.get_slots(token_present=True):
                if slot.slot_id == config.slot:
                    return slot.get_token()
    except pkcs11.MultipleTokensReturned:
        raise Malformed(f"more than one {name} in {config.module}: name it by its slot") from None
    except pkcs11.PKCS11Error as exc:
        raise translate(exc, "looking for the token", f"{name} in {config.module}") from None
    raise TokenUnavailable(f"there is no {name} in {config.module}")


def _login(module: LoadedModule, token: Any, config: Pkcs11Config, pin: str, max_sessions: int) -> TokenConnection:
    name = f"token {token.label!r}"
    try:
        with module.serialise or nullcontext():
            anchor = token.open(rw=True, user_pin=pin)
    except pkcs11.UserAlreadyLoggedIn:
        raise TokenUnavailable(f"{name} is logged in by another user of {config.module} in this process") from None
    except pkcs11.PKCS11Error as exc:
        raise translate(exc, "logging in", name) from None
    return TokenConnection(module, token, anchor, name, max_sessions)
