"""The identity contract through the real ``chancery`` command and ``chancery serve``.

chancery user add NAME [--password-stdin]
chancery role grant ROLE (--user NAME | --group NAME) [--ca CA] [--profile P] [--ra RA]
chancery token create (--user NAME) [--expires 30d] [--out FILE]
POST /api/v1/auth/login {"username": ..., "password": ...} -> {"token": ...}
and dual control from the command line (exit code 10: waiting for approval).
"""

from __future__ import annotations

import re
import stat
import time
from pathlib import Path

import httpx
import pytest

from tests.interop.conftest import Cli, openssl_csr
from tests.interop.server import Server

pytestmark = pytest.mark.interop
ALICE_PASSWORD = "correct battery horse staple"
BOB_PASSWORD = "another long enough secret"
WAITING = 10


@pytest.fixture
def people(cli: Cli) -> Cli:
    cli.hierarchy()
    cli("ca", "create-intermediate", "issuing-2", "--parent", "root", "--subject", "CN=Issuing 2,O=Interop")
    cli("user", "add", "alice", "--password-stdin", stdin=ALICE_PASSWORD + "\n")
    cli("user", "add", "bob", "--password-stdin", stdin=BOB_PASSWORD + "\n")
    cli("role", "grant", "ra-officer", "--user", "alice", "--ca", "issuing")
    cli("role", "grant", "administrator", "--user", "bob")
    return cli


def test_user_role_and_token_contract(people: Cli, tmp_path: Path) -> None:
    listed = people("user", "list").stdout
    assert "alice" in listed and "bob" in listed
    assert ALICE_PASSWORD not in listed
    grants = people("role", "list").stdout
    assert re.search(r"ra-officer.*issuing", grants)

    printed = people("token", "create", "--user", "alice", "--expires", "30d")
    token = printed.stdout.strip()
    assert printed.stdout == token + "\n" and " " not in token  # only the token, for scripts
    out = tmp_path / "alice.token"
    people("token", "create", "--user", "alice", "--out", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().strip() != token

    with Server(people) as server:
        csr = openssl_csr(tmp_path, "leaf").read_text()
        headers = {"Authorization": f"Bearer {token}"}
        body = {"csr": csr, "profile": "tls-server"}
        allowed = httpx.post(f"{server.url}/api/v1/cas/issuing/certificates", json=body, headers=headers)
        assert allowed.status_code == 201, allowed.text
        refused = httpx.post(f"{server.url}/api/v1/cas/issuing-2/certificates", json=body, headers=headers)
        assert refused.status_code == 403

        login = httpx.post(f"{server.url}/api/v1/auth/login", json={"username": "alice", "password": ALICE_PASSWORD})
        assert login.status_code == 200
        session = {"Authorization": f"Bearer {login.json()['token']}"}
        me = httpx.get(f"{server.url}/api/v1/auth/me", headers=session).json()
        assert me["name"] == "alice"
        wrong = httpx.post(f"{server.url}/api/v1/auth/login", json={"username": "alice", "password": "not it at all"})
        assert wrong.status_code == 401

        people("user", "disable", "alice")  # another process: the server's token cache lasts 5 s
        deadline = time.monotonic() + 10
        while httpx.get(f"{server.url}/api/v1/auth/me", headers=session).status_code == 200:
            assert time.monotonic() < deadline, "a disabled user's token still works"
            time.sleep(0.5)
        assert httpx.get(f"{server.url}/api/v1/auth/me", headers=session).status_code == 401


def test_token_revocation_and_bad_options(people: Cli) -> None:
    token = people("token", "create", "--user", "alice").stdout.strip()
    token_id = token.split("_")[1]
    people("token", "revoke", token_id)
    assert "revoked" in people("token", "list").stdout
    bad = people("token", "create", "--user", "alice", "--expires", "forever", check=False)
    assert bad.returncode != 0 and "forever" in bad.stdout + bad.stderr
    unknown = people("token", "create", "--user", "nobody", check=False)
    assert unknown.returncode != 0 and "nobody" in unknown.stdout + unknown.stderr
    role = people("role", "grant", "emperor", "--user", "alice", check=False)
    assert role.returncode != 0
    both = people("role", "grant", "auditor", "--user", "alice", "--group", "ops", check=False)
    assert both.returncode != 0


def test_weak_passwords_are_refused_on_the_command_line(cli: Cli) -> None:
    cli("init")
    weak = cli("user", "add", "carol", "--password-stdin", stdin="short\n", check=False)
    assert weak.returncode != 0 and "characters" in weak.stdout + weak.stderr
    assert "carol" not in cli("user", "list").stdout


def test_dual_control_from_the_command_line(people: Cli) -> None:
    people("policy", "set", "dual-control.approvals", "1")
    asked = people(
        "ca", "create-intermediate", "issuing-3", "--parent", "root", "--subject", "CN=Issuing 3,O=Interop", check=False
    )
    assert asked.returncode == WAITING, asked.stdout + asked.stderr
    operation = re.search(r"operation ([0-9a-f]{16})", asked.stdout + asked.stderr)
    assert operation is not None, asked.stdout + asked.stderr
    assert "issuing-3" not in people("ca", "list").stdout
    assert operation.group(1) in people("approval", "list").stdout

    # alice is no administrator: she may not approve
    refused = people(
        "approval", "approve", operation.group(1), "--as", "alice", "--password-stdin", stdin=ALICE_PASSWORD + "\n",
        check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    approved = people(
        "approval", "approve", operation.group(1), "--as", "bob", "--password-stdin", stdin=BOB_PASSWORD + "\n"
    )
    assert "approved and done" in approved.stdout
    assert "issuing-3" in people("ca", "list").stdout
