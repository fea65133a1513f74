"""The LDAP directory through the real ``chancery`` command and ``chancery serve``, against a real slapd.

echo "$PASSWORD" | chancery ldap configure --url ldap://HOST:PORT --base-dn DN --bind-dn DN --bind-password-stdin
    [--user-filter "(uid={username})"] [--group-map "<group DN>=<role>[@<CA>]"]
chancery ldap show
chancery ldap test USER
POST /api/v1/auth/login {"username": ..., "password": ...} -> {"token": ...}
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.interop.conftest import Cli, openssl_csr
from tests.interop.server import Server
from tests.support.slapd import PEOPLE, Slapd, group_dn, slapd_available, start_slapd, user_dn

pytestmark = pytest.mark.interop

ALICE_PASSWORD = PEOPLE["alice"][0]
BOB_PASSWORD = PEOPLE["bob"][0]
OPS_GROUP = group_dn("ca-ops")
WAITING = 10


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    if not slapd_available():
        pytest.fail("OpenLDAP slapd is not installed (/usr/sbin/slapd; `make test` installs package slapd)")
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


@pytest.fixture
def chancery(cli: Cli) -> Cli:
    cli("init")
    return cli


@pytest.fixture
def cas(chancery: Cli) -> None:
    """A root and two issuing CAs, issuing-1 and issuing-2."""
    chancery("ca", "create-root", "root", "--subject", "CN=LDAP Root,O=Interop", "--key-type", "ec-p256")
    for name in ("issuing-1", "issuing-2"):
        chancery("ca", "create-intermediate", name, "--parent", "root", "--subject", f"CN={name},O=Interop")


@pytest.fixture(scope="module")
def unconfigured(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """One initialised data directory for the module's refused configurations (they change nothing)."""
    cli = Cli(tmp_path_factory.mktemp("unconfigured") / "data")
    cli("init")
    return cli


def configure(
    cli: Cli, slapd: Slapd, bind_password: str, *extra: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``chancery ldap configure`` with the service account's password on stdin."""
    done = cli(
        "ldap",
        "configure",
        "--url",
        slapd.url,
        "--base-dn",
        slapd.base_dn,
        "--bind-dn",
        slapd.bind_dn,
        "--bind-password-stdin",
        "--user-filter",
        "(uid={username})",
        "--group-map",
        f"{OPS_GROUP}=ra-officer@issuing-1",
        *extra,
        stdin=bind_password + "\n",
        check=check,
    )
    return done


def files_containing(directory: Path, *secrets: str) -> list[str]:
    """Files under ``directory`` (the data directory, the server's log) holding any of ``secrets``."""
    return [
        f"{path.name}: {secret!r}"
        for path in directory.rglob("*")
        if path.is_file()
        for secret in secrets
        if secret.encode() in path.read_bytes()
    ]


def login(server: Server, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/auth/login", json={"username": username, "password": password})


@pytest.mark.usefixtures("cas")
def test_configure_show_test_and_log_in_over_http(chancery: Cli, slapd: Slapd, tmp_path: Path) -> None:
    done = configure(chancery, slapd, slapd.bind_password)
    configured = done.stdout + done.stderr
    assert f"LDAP directory {slapd.url} configured (1 group mapping(s))" in configured
    assert slapd.bind_password not in configured

    shown = chancery("ldap", "show")
    assert shown.stderr == ""
    assert re.search(rf"url\s+{re.escape(slapd.url)}$", shown.stdout, re.MULTILINE)
    assert re.search(rf"bind DN\s+{re.escape(slapd.bind_dn)}$", shown.stdout, re.MULTILINE)
    assert re.search(r"user filter\s+\(uid=\{username\}\)$", shown.stdout, re.MULTILINE)
    assert f"group  {OPS_GROUP} -> ra-officer@issuing-1" in shown.stdout
    assert slapd.bind_password not in shown.stdout and "password" not in shown.stdout.lower()

    alice = chancery("ldap", "test", "alice").stdout
    assert alice.splitlines() == [
        f"alice: {user_dn('alice')} (Alice Liddell)",
        f"  group {OPS_GROUP}",
        "  role  ra-officer@issuing-1",
    ]
    bob = chancery("ldap", "test", "bob").stdout
    assert f"  group {group_dn('auditors')}" in bob and "no group maps to a role" in bob
    for nobody in ("mallory", "*", "*)(uid=*"):
        missing = chancery("ldap", "test", nobody, check=False)
        assert missing.returncode == 3 and "not found in the directory" in missing.stdout, missing.stderr

    server = Server(chancery).start()
    try:
        refused = login(server, "alice", "wrong-password")
        assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
        assert "token" not in refused.json()

        answer = login(server, "alice", ALICE_PASSWORD)
        assert answer.status_code == 200, answer.text
        token = answer.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        me = httpx.get(f"{server.url}/api/v1/auth/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["name"] == "alice"
        assert me.json()["grants"] == [{"role": "ra-officer", "ca": "issuing-1", "profile": None, "ra": None}]

        body = {"csr": openssl_csr(tmp_path, "leaf").read_text(), "profile": "tls-server"}
        issued = httpx.post(f"{server.url}/api/v1/cas/issuing-1/certificates", json=body, headers=headers)
        assert issued.status_code == 201, issued.text
        elsewhere = httpx.post(f"{server.url}/api/v1/cas/issuing-2/certificates", json=body, headers=headers)
        assert elsewhere.status_code == 403, elsewhere.text

        bob_token = login(server, "bob", BOB_PASSWORD).json()["token"]
        bob_me = httpx.get(f"{server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {bob_token}"})
        assert (bob_me.json()["name"], bob_me.json()["grants"]) == ("bob", [])
    finally:
        server.stop()

    users = chancery("user", "list").stdout
    assert "alice" in users and "ldap" in users
    audit = chancery("audit", "list", "--action", "login").stdout
    assert "login.succeeded" in audit and "login.failed" in audit
    assert files_containing(tmp_path, slapd.bind_password, ALICE_PASSWORD, BOB_PASSWORD) == []


def test_a_wrong_service_account_password_is_a_clear_error(chancery: Cli, slapd: Slapd, tmp_path: Path) -> None:
    wrong = "not-the-reader-password"
    refused = configure(chancery, slapd, wrong, check=False)  # verified first: refused, nothing stored
    assert refused.returncode == 2 and "invalidCredentials" in refused.stderr and wrong not in refused.stderr
    assert "no LDAP directory configured" in chancery("ldap", "show").stdout
    configure(chancery, slapd, wrong, "--no-verify")

    checked = chancery("ldap", "test", "alice", check=False)

    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "LDAP service account bind refused (invalidCredentials)" in checked.stderr
    assert wrong not in checked.stdout + checked.stderr
    server = Server(chancery).start()
    try:
        answer = login(server, "alice", ALICE_PASSWORD)
        assert answer.status_code == 500 and "token" not in answer.json()
        assert wrong not in answer.text
    finally:
        server.stop()
    assert files_containing(tmp_path, wrong, ALICE_PASSWORD) == []


@pytest.mark.parametrize(
    ("stdin", "extra", "message"),
    [
        pytest.param("", (), "the service account needs a password", id="fail/empty-password"),
        pytest.param(
            "pw", ("--group-map", f"{OPS_GROUP}=root-of-all@issuing-1"), "unknown role 'root-of-all'", id="fail/role"
        ),
        pytest.param(
            "pw",
            ("--group-map", "ra-officer@issuing-1"),
            "a group mapping is '<group DN>=<role>[@<CA>[/<profile>]]'",
            id="fail/mapping-without-dn",
        ),
        pytest.param(
            "pw", ("--user-filter", "(uid=alice)"), "must be an LDAP filter containing {username}", id="fail/filter"
        ),
        pytest.param("pw", ("--url", "http://127.0.0.1"), "must start with ldap:// or ldaps://", id="fail/url"),
    ],
)
def test_bad_configurations_are_refused_and_change_nothing(
    unconfigured: Cli, slapd: Slapd, stdin: str, extra: tuple[str, ...], message: str
) -> None:
    refused = configure(unconfigured, slapd, stdin, *extra, check=False)

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert message in refused.stderr and "Traceback" not in refused.stderr
    assert "no LDAP directory configured" in unconfigured("ldap", "show").stdout


def test_under_dual_control_configuring_waits_for_another_administrator(
    chancery: Cli, slapd: Slapd, tmp_path: Path
) -> None:
    approver_password = "correct horse battery staple 2"
    chancery("user", "add", "approver", "--password-stdin", stdin=approver_password + "\n")
    chancery("role", "grant", "administrator", "--user", "approver")
    chancery("policy", "set", "dual-control.approvals", "1")

    asked = chancery(
        "ldap",
        "configure",
        "--url",
        slapd.url,
        "--base-dn",
        slapd.base_dn,
        "--bind-dn",
        slapd.bind_dn,
        "--bind-password-stdin",
        "--group-map",
        f"{OPS_GROUP}=ra-officer@issuing-1",
        stdin=slapd.bind_password + "\n",
        check=False,
    )

    assert asked.returncode == WAITING, asked.stdout + asked.stderr
    operation = re.search(r"operation ([0-9a-f]{16})", asked.stderr)
    assert operation is not None, asked.stderr
    assert "no LDAP directory configured" in chancery("ldap", "show").stdout
    # the pending operation carries the sealed password, never the clear one
    assert files_containing(tmp_path, slapd.bind_password) == []

    approved = chancery(
        "approval",
        "approve",
        operation.group(1),
        "--as",
        "approver",
        "--password-stdin",
        stdin=approver_password + "\n",
    )
    assert "approved and done" in approved.stdout
    assert f"{OPS_GROUP} -> ra-officer@issuing-1" in chancery("ldap", "show").stdout
    assert "role  ra-officer@issuing-1" in chancery("ldap", "test", "alice").stdout  # the sealed password opens
    assert files_containing(tmp_path, slapd.bind_password, approver_password) == []
