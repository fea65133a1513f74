"""A Chancery for the portal tests: a data directory set up through the services (CAs, RAs,
officers, an auditor, optionally the LDAP directory), served by a real ``chancery serve``
(uvicorn) subprocess on 127.0.0.1, and an HTTP client that posts forms like a browser.

RAs on CA ``issuing`` (root ``root``):

    web         tls-server: 2 approvals, anonymous allowed; tls-client: 1 approval, anonymous allowed
    staff-only  tls-client: 1 approval, no anonymous requests
    instant     tls-client: issued at once (0 approvals), anonymous allowed
    brief       tls-client: 1 approval, anonymous allowed, a pending request waits one hour

Local users (password :data:`PASSWORD`): olga (ra-officer on CA issuing), oscar (ra-officer on RA web), audrey
(auditor), carl (ca-operator). With a slapd, members of its group ``ca-ops`` (alice) are
ra-officers on CA issuing.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from chancery import wiring
from chancery.clock import Clock
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Role, local_operator
from chancery.domain.registration import ProfilePolicy, RequestRecord, RequestState
from chancery.services.authority.hierarchy import NewCA
from chancery.services.identity.accounts import NewGrant
from chancery.services.identity.directory_settings import LdapConfiguration
from chancery.services.registration.authorities import NewRa
from chancery.settings import load_settings
from tests.interop.conftest import Cli
from tests.interop.server import Server
from tests.support.slapd import Slapd, group_dn

PASSPHRASE = "portal test passphrase"
PASSWORD = "correct horse battery staple"
OPERATOR = local_operator("portal-tests")
# user -> (role, the grant's scope)
USERS: dict[str, tuple[Role, dict[str, str]]] = {
    "olga": (Role.RA_OFFICER, {"ca": "issuing"}),
    "oscar": (Role.RA_OFFICER, {"ra": "web"}),
    "audrey": (Role.AUDITOR, {}),
    "carl": (Role.CA_OPERATOR, {}),
}
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class Site:
    """A served Chancery and its data directory."""

    server: Server
    data_dir: Path

    @property
    def portal(self) -> str:
        return f"{self.server.url}/portal"

    def application(self, clock: Clock | None = None) -> wiring.Application:
        """The same data directory, in this process (close it after use)."""
        settings = load_settings({}, data_dir=str(self.data_dir), kdf_scrypt_n=2**14)
        return wiring.build(settings, PASSPHRASE.encode(), clock)

    def requests(self) -> tuple[RequestRecord, ...]:
        """Every request recorded, newest first (to show that a refused form recorded nothing)."""
        app = self.application()
        try:
            return app.ra_decisions.queue(OPERATOR, tuple(RequestState), limit=1000)
        finally:
            app.close()

    def stop(self) -> None:
        self.server.stop()


def start_site(
    directory: Path,
    slapd: Slapd | None = None,
    prepare: Callable[[wiring.Application], Sequence[str]] | None = None,
    verify: ssl.SSLContext | bool = True,
) -> Site:
    """Populate a data directory and serve it. ``prepare`` may set up more and returns more
    ``chancery serve`` options (``--tls-cert``...); ``verify`` checks the server's certificate."""
    data_dir = directory / "data"
    app = wiring.build(load_settings({}, data_dir=str(data_dir), kdf_scrypt_n=2**14), PASSPHRASE.encode())
    try:
        _populate(app, slapd)
        args = prepare(app) if prepare is not None else ()
    finally:
        app.close()
    server = Server(Cli(data_dir, passphrase=PASSPHRASE), args=args, verify=verify).start()
    return Site(server, data_dir)


def _populate(app: wiring.Application, slapd: Slapd | None) -> None:
    wiring.initialise(app, OPERATOR)
    app.hierarchy.create_root(OPERATOR, NewCA("root", "CN=Portal Test Root,O=Chancery Tests", KeyType.EC_P256))
    app.hierarchy.create_intermediate(
        OPERATOR, NewCA("issuing", "CN=Portal Test Issuing,O=Chancery Tests", KeyType.EC_P256, parent="root")
    )
    two = ProfilePolicy(approvals=2, allow_anonymous=True)
    app.ras.create(OPERATOR, NewRa("web", "issuing", ("tls-server",), two, description="Web servers"))
    app.ras.set_policy(OPERATOR, "web", "tls-client", ProfilePolicy(approvals=1, allow_anonymous=True))
    app.ras.create(OPERATOR, NewRa("staff-only", "issuing", ("tls-client",), ProfilePolicy(approvals=1)))
    app.ras.create(OPERATOR, NewRa("instant", "issuing", ("tls-client",), ProfilePolicy(0, allow_anonymous=True)))
    brief = ProfilePolicy(approvals=1, allow_anonymous=True, lifetime_hours=1)
    app.ras.create(OPERATOR, NewRa("brief", "issuing", ("tls-client",), brief))
    for name, (role, scope) in USERS.items():
        app.accounts.add_user(OPERATOR, name, PASSWORD, display_name=name.title())
        app.accounts.grant(OPERATOR, NewGrant(role, user=name, **scope))
    if slapd is not None:
        app.directory.configure(
            OPERATOR,
            LdapConfiguration(
                url=slapd.url,
                base_dn=slapd.base_dn,
                bind_dn=slapd.bind_dn,
                bind_password=slapd.bind_password,
                group_map=(f"{group_dn('ca-ops')}=ra-officer@issuing",),
            ),
        )


class FormClient:
    """Posts the portal's forms over HTTP as a browser would, keeping the portal's cookies itself:
    httpx (like curl) sends ``Secure`` cookies over https only, browsers also to http://127.0.0.1."""

    def __init__(self, portal: str, verify: ssl.SSLContext | bool = True) -> None:
        self.http = httpx.Client(base_url=portal, timeout=30, verify=verify)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})  # type: ignore[call-overload]
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response = self.http.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
        self.http.cookies.clear()  # kept below, by hand, for http and https alike
        for header in response.headers.get_list("set-cookie"):
            name, _, value = header.split(";", 1)[0].partition("=")
            if "max-age=0" in header.lower() or not value.strip('"'):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def token(self, path: str = "/") -> str:
        """The CSRF token the forms of page ``path`` carry."""
        found = CSRF.search(self.get(path).text)
        assert found is not None, f"no form on {path}"
        return found.group(1)

    def login(self, user: str, password: str = PASSWORD) -> FormClient:
        response = self.post(
            "/login", data={"csrf_token": self.token("/login"), "username": user, "password": password}
        )
        assert response.status_code == 303, response.text
        return self

    def close(self) -> None:
        self.http.close()
