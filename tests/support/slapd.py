"""A throwaway OpenLDAP ``slapd`` for tests, on 127.0.0.1 and free ports, in a temporary directory.

The directory under ``dc=example,dc=test``::

    cn=admin           the rootdn (writes: tests that need more entries use it)
    cn=reader          the service account, password ``reader-password`` (reads everything)
    ou=people          uid=alice, uid=bob, uid=carol (inetOrgPerson, displayName, userPassword)
    ou=groups          cn=ca-ops {alice}, cn=auditors {bob}, cn=ops-issuing-2 {carol} (groupOfNames)

Entries are loaded with ``slapadd`` before start, except the groups: they are added over LDAP once the
server answers, because the ``memberof`` overlay (used when /usr/lib/ldap has it) maintains
``memberOf`` only for online writes, and ``slapadd`` runs no overlay.

With :class:`ServerTls`, slapd also does StartTLS on the ``ldap://`` port and listens on an
``ldaps://`` port. slapd runs in the foreground (``-d stats``), its log in ``slapd.log``:
:meth:`Slapd.log` lets a test see what the server was asked (``BIND``, ``EXT oid=...``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from ldap3 import NONE, Connection, Server
from ldap3.core.exceptions import LDAPException

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
SLAPPASSWD = Path("/usr/sbin/slappasswd")
MODULE_PATH = Path("/usr/lib/ldap")
SCHEMA_DIR = Path("/etc/ldap/schema")
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

SUFFIX = "dc=example,dc=test"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-password"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "reader-password"
# uid -> (password, displayName)
PEOPLE = {
    "alice": ("alice-password-1", "Alice Liddell"),
    "bob": ("bob-password-22", "Bob Builder"),
    "carol": ("carol-password-333", "Carol Danvers"),
}
# group cn -> member uids
GROUPS = {"ca-ops": ("alice",), "auditors": ("bob",), "ops-issuing-2": ("carol",)}
STARTUP_SECONDS = 15.0


def user_dn(uid: str) -> str:
    return f"uid={uid},ou=people,{SUFFIX}"


def group_dn(cn: str) -> str:
    return f"cn={cn},ou=groups,{SUFFIX}"


def slapd_available() -> bool:
    return SLAPD.exists() and SLAPADD.exists() and SLAPPASSWD.exists()


def memberof_available() -> bool:
    return (MODULE_PATH / "memberof.la").exists()


@dataclass(frozen=True)
class ServerTls:
    """The server's certificate and key, and the CA that issued it (PEM)."""

    certificate_pem: bytes
    key_pem: bytes = field(repr=False)
    ca_pem: bytes


@dataclass
class Slapd:
    """A running slapd. ``ldaps_url`` and ``tls_ca_pem`` are ``None`` without TLS."""

    url: str
    ldaps_url: str | None
    base_dn: str
    bind_dn: str
    bind_password: str
    tls_ca_pem: str | None
    admin_dn: str
    admin_password: str
    directory: Path
    pid: int
    memberof: bool
    _process: subprocess.Popen[bytes] = field(repr=False)
    _remove_directory: bool = field(default=False, repr=False)

    def log(self) -> str:
        """What slapd has logged so far (stats level: one line per connection and operation)."""
        return (self.directory / "slapd.log").read_text(errors="replace")

    def stop(self) -> None:
        """Stop slapd (SIGTERM, then SIGKILL after 10 s), wait for it, remove its directory if ours."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._remove_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Slapd:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_slapd(directory: Path | None = None, tls: ServerTls | None = None) -> Slapd:
    """Configure, load and start a slapd; return once the service account can bind.

    ``directory`` (created if needed) holds the configuration, database and log; without it a
    temporary directory is made and removed by :meth:`Slapd.stop`. Raises ``RuntimeError`` with the
    end of slapd's log if it does not come up within ``STARTUP_SECONDS``.
    """
    if not slapd_available():
        raise RuntimeError(f"{SLAPD} (package slapd) is not installed")
    remove = directory is None
    directory = Path(tempfile.mkdtemp(prefix="slapd-")) if directory is None else directory
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "db").mkdir(exist_ok=True)
    if tls is not None:
        _write_tls(directory, tls)
    config = directory / "slapd.conf"
    config.write_text(_config(directory, tls is not None))
    _slapadd(config, directory / "base.ldif")
    for _attempt in range(3):  # a free port can be taken between choosing and binding it
        server = _launch(directory, tls, remove)
        if server is not None:
            try:
                _add_groups(server)
            except BaseException:
                server.stop()
                raise
            return server
    message = f"slapd did not start: {_tail(directory / 'slapd.log')}"
    if remove:
        shutil.rmtree(directory, ignore_errors=True)
    raise RuntimeError(message)


# -- configuration -----------------------------------------------------------------------------


def _write_tls(directory: Path, tls: ServerTls) -> None:
    (directory / "server.pem").write_bytes(tls.certificate_pem)
    key = directory / "server.key"
    key.write_bytes(tls.key_pem)
    key.chmod(0o600)
    (directory / "ca.pem").write_bytes(tls.ca_pem)


def _config(directory: Path, tls: bool) -> str:
    lines = [f"include {SCHEMA_DIR / name}.schema" for name in SCHEMAS]
    lines += [f"modulepath {MODULE_PATH}", "moduleload back_mdb"]
    if memberof_available():
        lines.append("moduleload memberof")
    lines += [f"pidfile {directory / 'slapd.pid'}", f"argsfile {directory / 'slapd.args'}"]
    if tls:
        lines += [
            f"TLSCACertificateFile {directory / 'ca.pem'}",
            f"TLSCertificateFile {directory / 'server.pem'}",
            f"TLSCertificateKeyFile {directory / 'server.key'}",
        ]
    lines += [
        "database mdb",
        f'suffix "{SUFFIX}"',
        f'rootdn "{ADMIN_DN}"',
        f"rootpw {_hash(ADMIN_PASSWORD)}",
        f"directory {directory / 'db'}",
        "maxsize 67108864",
        "access to attrs=userPassword by self write by anonymous auth by * none",
        "access to * by * read",
    ]
    if memberof_available():
        lines += ["overlay memberof", "memberof-group-oc groupOfNames", "memberof-member-ad member"]
    return "\n".join(lines) + "\n"


def _hash(password: str) -> str:
    return subprocess.run([str(SLAPPASSWD), "-s", password], check=True, capture_output=True, text=True).stdout.strip()


def _base_ldif() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example Test",
        f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people",
        f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: reader\nuserPassword: {_hash(READER_PASSWORD)}",
    ]
    for uid, (password, display) in PEOPLE.items():
        given, surname = display.split(" ", 1)
        entries.append(
            f"dn: {user_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {display}\nsn: {surname}\n"
            f"givenName: {given}\ndisplayName: {display}\nmail: {uid}@example.test\nuserPassword: {_hash(password)}"
        )
    return "\n\n".join(entries) + "\n"


def _slapadd(config: Path, ldif: Path) -> None:
    ldif.write_text(_base_ldif())
    done = subprocess.run([str(SLAPADD), "-q", "-f", str(config), "-l", str(ldif)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"slapadd failed: {done.stderr.strip()[-2000:]}")


# -- running -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _launch(directory: Path, tls: ServerTls | None, remove: bool) -> Slapd | None:
    """Start slapd on fresh ports; ``None`` if it exited before answering (port taken)."""
    url = f"ldap://127.0.0.1:{_free_port()}"
    ldaps_url = f"ldaps://127.0.0.1:{_free_port()}" if tls is not None else None
    urls = " ".join(f"{u}/" for u in (url, ldaps_url) if u)
    log = (directory / "slapd.log").open("ab")
    try:
        process = subprocess.Popen(
            [str(SLAPD), "-f", str(directory / "slapd.conf"), "-h", urls, "-d", "stats"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()
    server = Slapd(
        url=url,
        ldaps_url=ldaps_url,
        base_dn=SUFFIX,
        bind_dn=READER_DN,
        bind_password=READER_PASSWORD,
        tls_ca_pem=tls.ca_pem.decode() if tls is not None else None,
        admin_dn=ADMIN_DN,
        admin_password=ADMIN_PASSWORD,
        directory=directory,
        pid=process.pid,
        memberof=memberof_available(),
        _process=process,
        _remove_directory=remove,
    )
    if _wait_until_answering(server, process):
        return server
    if process.poll() is None:
        process.kill()
    process.wait()
    return None


def _wait_until_answering(server: Slapd, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        conn = Connection(
            Server(server.url, get_info=NONE, connect_timeout=1),
            server.bind_dn,
            server.bind_password,
            receive_timeout=1,
        )
        try:
            if conn.bind():
                return True
        except LDAPException:
            pass
        finally:
            with suppress(LDAPException, OSError):
                conn.unbind()
            if conn.socket is not None:  # ldap3 leaves the socket of a refused connection open
                conn.socket.close()
        time.sleep(0.02)  # polling a starting process, not a test waiting for time to pass
    return False


def _add_groups(server: Slapd) -> None:
    conn = Connection(Server(server.url, get_info=NONE), server.admin_dn, server.admin_password, auto_bind=True)
    try:
        for cn, members in GROUPS.items():
            if not conn.add(group_dn(cn), ["groupOfNames"], {"cn": cn, "member": [user_dn(m) for m in members]}):
                raise RuntimeError(f"cannot add {group_dn(cn)}: {conn.result}")
    finally:
        conn.unbind()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
