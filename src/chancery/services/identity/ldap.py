"""LDAP / Active Directory users: search with a service account, then bind as the entry found.

The rules this adapter enforces, and where they come from:

- RFC 4513 §5.1.2: a simple bind with a DN and an *empty* password is an unauthenticated bind, which
  many servers accept as anonymous. An empty password is refused here before anything is sent.
- RFC 4515 §3: the user name is put into the search filter with ``*``, ``(``, ``)``, ``\\`` and NUL
  escaped as ``\\XX``, so it can only ever be a value (no LDAP injection such as ``*)(uid=*``).
- RFC 4511 §4.5.1: the user search asks for at most two entries; more than one match is ambiguous and
  refused, never resolved by taking the first.
- RFC 4511 §4.1.10: referrals are not chased; following one would send the service account's
  password to whatever server the referral names.
- RFC 4511 §4.14 and RFC 4513 §3: StartTLS on ``ldap://``; ``ldaps://`` is TLS from the first byte.
  The server certificate is always verified (RFC 4513 §3.1.3, name checked per RFC 6125), against the
  configured CA certificates only, or the system trust store when none are configured.
- RFC 2696: the group search is paged, so a large directory does not cut it short.

Failures of the directory itself (unreachable, TLS, refused service account) raise
:class:`~chancery.errors.InternalError`; their messages name the step and never carry a credential.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ldap3 import AUTO_BIND_NONE, NONE, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import (
    LDAPCommunicationError,
    LDAPException,
    LDAPSocketReceiveError,
    LDAPStartTLSError,
)
from ldap3.utils.conv import escape_filter_chars

from chancery.domain.identity import LdapSettings
from chancery.errors import InternalError
from chancery.services.identity.directory import DirectoryUser

TIMEOUT_SECONDS = 5
MAX_USERNAME_LENGTH = 128
_USER_ATTRIBUTES = ["displayName", "cn", "memberOf"]
_NO_ATTRIBUTES = ["1.1"]  # RFC 4511 §4.5.1.8: return no attributes
_PAGE_SIZE = 500
_PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"  # RFC 2696


@dataclass(frozen=True)
class _Endpoint:
    host: str
    port: int
    ldaps: bool

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'ldaps' if self.ldaps else 'ldap'}://{host}:{self.port}"


@dataclass(frozen=True)
class _Entry:
    dn: str
    attributes: dict[str, Any]

    def values(self, name: str) -> list[str]:
        for key, value in self.attributes.items():
            if key.lower() == name.lower():
                return [str(v) for v in (value if isinstance(value, list | tuple) else [value]) if v]
        return []


class _VerifiedTls(Tls):
    """ldap3's :class:`Tls`, with the server name checked by OpenSSL during the handshake.

    ldap3 2.9 switches the context's own name check off and calls ``ssl.match_hostname`` afterwards,
    which Python deprecated (3.7) and removed (3.12). Here the standard library checks the DNS or IP
    subjectAltName (RFC 6125) and the chain, against ``ca_certs_data`` only when it is set
    (``ssl.create_default_context`` loads the system store only when given no CA).
    """

    def wrap_socket(self, connection: Connection, do_handshake: bool = False) -> None:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=self.ca_certs_data)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        connection.socket = context.wrap_socket(
            connection.socket, server_hostname=connection.server.host, do_handshake_on_connect=do_handshake
        )


class LdapDirectory:
    """The :class:`~chancery.services.identity.directory.Directory` port over LDAP v3 (ldap3).

    Stateless: every call opens its own connections and closes them, so one instance serves all threads.
    """

    def authenticate(
        self, settings: LdapSettings, bind_password: str, username: str, password: str
    ) -> DirectoryUser | None:
        """Search for ``username`` with the service account, then bind as the entry found with ``password``.

        ``None``: malformed user name, empty password (RFC 4513 §5.1.2), no entry or more than one,
        or the server refused the user's bind. Raises :class:`InternalError` when the server cannot
        be reached, TLS fails, or the service account is refused.
        """
        if not password or not _acceptable(username):
            return None
        server = _server(settings)
        with _service_connection(server, settings, bind_password) as conn:
            entry = _find_user(conn, settings, username)
            if entry is None or not _user_bind(server, settings, entry.dn, password):
                return None
            return _directory_user(conn, settings, entry, username)

    def lookup(self, settings: LdapSettings, bind_password: str, username: str) -> DirectoryUser | None:
        """Find ``username`` and its groups with the service account only (``chancery ldap test``).

        ``None``: malformed user name, no entry or more than one. Raises as :meth:`authenticate`.
        """
        if not _acceptable(username):
            return None
        server = _server(settings)
        with _service_connection(server, settings, bind_password) as conn:
            entry = _find_user(conn, settings, username)
            return None if entry is None else _directory_user(conn, settings, entry, username)


# -- connections -------------------------------------------------------------------------------


def _acceptable(username: str) -> bool:
    return 0 < len(username) <= MAX_USERNAME_LENGTH and "\x00" not in username


def _endpoint(url: str) -> _Endpoint:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise InternalError("the LDAP URL has an invalid port") from None
    if scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise InternalError("the LDAP URL must be ldap://host[:port] or ldaps://host[:port]")
    ldaps = scheme == "ldaps"
    return _Endpoint(parts.hostname, port or (636 if ldaps else 389), ldaps)


def _server(settings: LdapSettings) -> Server:
    endpoint = _endpoint(settings.url)
    tls = _VerifiedTls(validate=ssl.CERT_REQUIRED, ca_certs_data=settings.ca_certificates_pem or None)
    return Server(
        endpoint.host,
        port=endpoint.port,
        use_ssl=endpoint.ldaps,
        tls=tls,
        get_info=NONE,
        connect_timeout=TIMEOUT_SECONDS,
    )


def _endpoint_of(server: Server) -> _Endpoint:
    return _Endpoint(server.host, server.port, bool(server.ssl))


@contextmanager
def _step(failure: str) -> Iterator[None]:
    """Turn an ldap3 failure into :class:`InternalError` naming ``failure`` and the kind of fault."""
    try:
        yield
    except LDAPException as exc:
        raise InternalError(f"{failure}: {_reason(exc)}") from exc


def _reason(exc: LDAPException) -> str:
    # ldap3 raises classes that derive from both its own error and the socket/ssl one it caught.
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "the server certificate is not trusted or not issued for this host"
    if isinstance(exc, ssl.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, LDAPStartTLSError):
        return "StartTLS failed"
    if isinstance(exc, LDAPSocketReceiveError | TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS} s"
    if isinstance(exc, LDAPCommunicationError):
        return f"connection failed ({type(exc).__name__})"
    return type(exc).__name__  # e.g. LDAPInvalidFilterError: a user filter that is not RFC 4515 syntax


def _open(server: Server, settings: LdapSettings, user: str, password: str) -> Connection:
    """Connect (and StartTLS when configured): a connection not yet bound."""
    conn = Connection(
        server,
        user=user,
        password=password,
        authentication=SIMPLE,
        auto_bind=AUTO_BIND_NONE,
        auto_referrals=False,
        read_only=True,
        raise_exceptions=False,
        receive_timeout=TIMEOUT_SECONDS,
    )
    endpoint = _endpoint_of(server)
    try:
        with _step(f"cannot reach LDAP server {endpoint}"):
            conn.open()
        if settings.start_tls and not endpoint.ldaps:
            with _step(f"StartTLS with LDAP server {endpoint} failed"):
                if not conn.start_tls(read_server_info=False):
                    raise LDAPStartTLSError("refused")
    except InternalError:
        _close(conn)
        raise
    return conn


def _close(conn: Connection) -> None:
    with suppress(LDAPException, OSError):
        conn.unbind()
    if conn.socket is not None:  # ldap3 leaves the socket of a failed open (or TLS handshake) behind
        with suppress(OSError):
            conn.socket.close()


@contextmanager
def _service_connection(server: Server, settings: LdapSettings, bind_password: str) -> Iterator[Connection]:
    """A connection bound as the service account; :class:`InternalError` when it is refused."""
    if not bind_password:  # RFC 4513 §5.1.2: would be an unauthenticated bind, not the service account
        raise InternalError("LDAP service account has no password configured")
    conn = _open(server, settings, settings.bind_dn, bind_password)
    try:
        with _step(f"LDAP service account bind to {_endpoint_of(server)} failed"):
            bound = conn.bind()
        if not bound:
            raise InternalError(f"LDAP service account bind refused ({_result(conn)})")
        yield conn
    finally:
        _close(conn)


def _user_bind(server: Server, settings: LdapSettings, dn: str, password: str) -> bool:
    """Bind as ``dn`` on a new connection: whether the server accepted ``password``."""
    conn = _open(server, settings, dn, password)
    try:
        with _step(f"LDAP user bind to {_endpoint_of(server)} failed"):
            return bool(conn.bind())
    finally:
        _close(conn)


def _result(conn: Connection) -> str:
    return str((conn.result or {}).get("description", "no result"))


# -- searches ----------------------------------------------------------------------------------


def _user_filter(settings: LdapSettings, username: str) -> str:
    if "{username}" not in settings.user_filter:
        # Without it every name would match the same entries: refuse the configuration.
        raise InternalError("the LDAP user filter has no {username} placeholder")
    return settings.user_filter.replace("{username}", escape_filter_chars(username))


def _find_user(conn: Connection, settings: LdapSettings, username: str) -> _Entry | None:
    """The one entry the user filter finds under the base DN; ``None`` for none or several."""
    query = _user_filter(settings, username)
    with _step("LDAP user search failed"):
        conn.search(settings.base_dn, query, search_scope=SUBTREE, attributes=_USER_ATTRIBUTES, size_limit=2)
    if _result(conn) not in ("success", "sizeLimitExceeded"):
        raise InternalError(f"LDAP user search failed ({_result(conn)})")
    entries = _entries(conn)
    return entries[0] if len(entries) == 1 else None


def _entries(conn: Connection) -> list[_Entry]:
    return [
        _Entry(str(item["dn"]), dict(item.get("attributes") or {}))
        for item in conn.response or ()
        if item.get("type") == "searchResEntry"
    ]


def _group_filter(user_dn: str, username: str) -> str:
    dn, uid = escape_filter_chars(user_dn), escape_filter_chars(username)
    return (
        f"(|(&(objectClass=groupOfNames)(member={dn}))"
        f"(&(objectClass=groupOfUniqueNames)(uniqueMember={dn}))"
        f"(&(objectClass=posixGroup)(memberUid={uid})))"
    )


def _group_search(conn: Connection, settings: LdapSettings, user_dn: str, username: str) -> list[str]:
    """DNs of the groups naming the user as a member, page by page (RFC 2696)."""
    query = _group_filter(user_dn, username)
    found: list[str] = []
    cookie: bytes | None = None
    while True:
        with _step("LDAP group search failed"):
            conn.search(
                settings.base_dn,
                query,
                search_scope=SUBTREE,
                attributes=_NO_ATTRIBUTES,
                paged_size=_PAGE_SIZE,
                paged_cookie=cookie,
            )
        if _result(conn) != "success":
            raise InternalError(f"LDAP group search failed ({_result(conn)})")
        found += [entry.dn for entry in _entries(conn)]
        cookie = _next_page(conn)
        if not cookie:
            return found


def _next_page(conn: Connection) -> bytes | None:
    control = ((conn.result or {}).get("controls") or {}).get(_PAGED_RESULTS_OID) or {}
    return (control.get("value") or {}).get("cookie") or None


def _unique(dns: list[str]) -> tuple[str, ...]:
    """``dns`` without repeats, in order; attribute types and these values compare case-insensitively."""
    seen: dict[str, str] = {}
    for dn in dns:
        seen.setdefault(dn.casefold(), dn)
    return tuple(seen.values())


def _directory_user(conn: Connection, settings: LdapSettings, entry: _Entry, username: str) -> DirectoryUser:
    groups = _unique(entry.values("memberOf") + _group_search(conn, settings, entry.dn, username))
    names = entry.values("displayName") or entry.values("cn") or [username]
    return DirectoryUser(dn=entry.dn, display_name=names[0], groups=groups)
