"""The registration authority through the real ``chancery`` command.

chancery ra create NAME --ca CA --profile P [--profile P2 ...] [--approvals N] [--allow-anonymous]
chancery ra submit NAME --profile P --csr FILE [--email ADDR]       -> the request ID alone on stdout
chancery ra requests | request show ID | approve ID --as USER | deny ID --as USER --reason TEXT
chancery ra cancel ID | download ID [--format pem|der|p7b] [--out FILE]
Officers approve as themselves (--as USER --password-stdin): the shell's operator is not a person.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.interop.conftest import Cli, openssl, openssl_csr

pytestmark = pytest.mark.interop
PASSWORDS = {
    "alice": "correct battery horse staple",
    "bob": "another long enough secret",
    "dana": "a third person's secret 42",
}
REQUEST_ID = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
NOT_FOUND, BAD_INPUT, CONFLICT, NOT_ALLOWED, WAITING = 3, 2, 4, 5, 10


def add_people(cli: Cli) -> Cli:
    """Officers alice (on CA issuing) and bob (on RA web, and on RA lenient); dana, an administrator."""
    for name, password in PASSWORDS.items():
        cli("user", "add", name, "--password-stdin", stdin=password + "\n")
    cli("role", "grant", "ra-officer", "--user", "alice", "--ca", "issuing")
    cli("role", "grant", "ra-officer", "--user", "bob", "--ra", "web")
    cli("role", "grant", "ra-officer", "--user", "bob", "--ra", "lenient")
    cli("role", "grant", "administrator", "--user", "dana")
    return cli


@pytest.fixture(scope="module")
def officers(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A root, CA issuing, the officers, and RA web: tls-server needs two approvals."""
    cli = Cli(tmp_path_factory.mktemp("ra") / "data")
    cli.hierarchy()
    add_people(cli)
    cli("ra", "create", "web", "--ca", "issuing", "--profile", "tls-server", "--approvals", "2")
    return cli


def as_user(cli: Cli, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``chancery ARGS --as NAME``, the password on stdin."""
    return cli(*args, "--as", name, "--password-stdin", stdin=PASSWORDS[name] + "\n", check=check)


def submit(cli: Cli, directory: Path, ra: str = "web", profile: str = "tls-server", name: str = "www") -> str:
    csr = openssl_csr(directory, name, cn=f"{name}.example.com", san=f"DNS:{name}.example.com")
    printed = cli("ra", "submit", ra, "--profile", profile, "--csr", str(csr), "--email", "ops@example.com")
    request_id = printed.stdout.strip()
    assert printed.stdout == request_id + "\n" and REQUEST_ID.fullmatch(request_id), printed.stdout
    return request_id


def test_two_officers_approve_and_the_certificate_verifies(officers: Cli, tmp_path: Path) -> None:
    shown = officers("ra", "show", "web").stdout
    assert re.search(r"tls-server\s*│\s*2\s*│\s*ra-officer", shown), shown
    assert "web" in officers("ra", "list").stdout

    csr = openssl_csr(tmp_path, "www", cn="www.example.com", san="DNS:www.example.com")
    printed = officers("ra", "submit", "web", "--profile", "tls-server", "--csr", str(csr), "--email", "a@example.com")
    request_id = printed.stdout.strip()
    assert printed.stdout == request_id + "\n" and REQUEST_ID.fullmatch(request_id)  # alone, for scripts
    assert "waits for 2 more approvals" in printed.stderr
    assert re.search(rf"{request_id}\s*│\s*pending\s*│\s*web", officers("ra", "requests").stdout)
    details = officers("ra", "request", "show", request_id).stdout
    assert "CN=www.example.com" in details and "0 of 2" in details and "a@example.com" in details
    assert re.search(r"lint preview \(tls-server@\d+, CA issuing\): passes", details), details

    operator = officers("ra", "approve", request_id, check=False)
    assert operator.returncode == NOT_ALLOWED and "not a user account" in operator.stderr
    assert "--as USER" in operator.stderr
    first = as_user(officers, "alice", "ra", "approve", request_id, "--comment", "known host")
    assert "waits for 1 more approval" in first.stdout
    again = as_user(officers, "alice", "ra", "approve", request_id, check=False)
    assert again.returncode == CONFLICT and "already approved" in again.stderr
    second = as_user(officers, "bob", "ra", "approve", request_id)
    assert "issued" in second.stdout

    details = officers("ra", "request", "show", request_id).stdout
    assert re.search(r"state\s+issued", details) and "2 of 2" in details
    assert re.search(r"alice.*known host", details) and "bob" in details
    assert request_id not in officers("ra", "requests").stdout
    assert request_id in officers("ra", "requests", "--state", "issued").stdout

    officers("ra", "download", request_id, "--out", str(tmp_path / "www.pem"))
    officers("ca", "export", "root", "--out", str(tmp_path / "root.pem"))
    pem = tmp_path / "www.pem"
    verified = openssl(
        "verify", "-x509_strict", "-CAfile", str(tmp_path / "root.pem"), "-untrusted", str(pem), str(pem)
    )
    assert verified.stdout.strip() == f"{pem}: OK"
    der = officers.raw("ra", "download", request_id, "--format", "der")
    (tmp_path / "www.der").write_bytes(der)
    subject = openssl("x509", "-inform", "der", "-in", str(tmp_path / "www.der"), "-noout", "-subject").stdout
    assert "www.example.com" in subject
    p12 = officers("ra", "download", request_id, "--format", "p12", check=False)
    assert p12.returncode == BAD_INPUT and "pem, der, p7b" in p12.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["--ca", "nowhere"], NOT_FOUND, "no CA named 'nowhere'", id="fail/unknown-ca"),
        pytest.param(["--profile", "no-such-profile"], NOT_FOUND, "no profile named", id="fail/unknown-profile"),
        pytest.param(["--approvals", "9"], BAD_INPUT, "approvals must be between 0 and 5", id="fail/approvals-9"),
        pytest.param(
            ["--approver-role", "requester"], BAD_INPUT, "unknown approver role", id="fail/requester-approves"
        ),
        pytest.param(["--lifetime-hours", "0"], BAD_INPUT, "lifetime", id="fail/lifetime-0"),
        pytest.param(["--notify-email", "not-an-address"], BAD_INPUT, "not an e-mail address", id="fail/bad-email"),
        pytest.param(["--revocation-approvals", "6"], BAD_INPUT, "revocation approvals", id="fail/revocation-6"),
    ],
)
def test_ra_create_errors_create_nothing(officers: Cli, args: list[str], code: int, message: str) -> None:
    base = {"--ca": "issuing", "--profile": "tls-server"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    options = [part for key, value in {**base, **given}.items() for part in (key, value)]
    refused = officers("ra", "create", "refused", *options, check=False)
    assert refused.returncode == code, refused.stdout + refused.stderr
    assert message in refused.stderr and "Traceback" not in refused.stderr
    assert "refused" not in officers("ra", "list").stdout


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        pytest.param("Bad Name", BAD_INPUT, "invalid RA name", id="fail/bad-name"),
        pytest.param("web", CONFLICT, "an RA named 'web' exists", id="fail/exists"),
    ],
)
def test_ra_create_refuses_bad_and_taken_names(officers: Cli, name: str, code: int, message: str) -> None:
    refused = officers("ra", "create", name, "--ca", "issuing", "--profile", "tls-client", check=False)
    assert refused.returncode == code and message in refused.stderr
    assert "tls-client" not in officers("ra", "show", "web").stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"this is not a CSR\n", "not a valid CSR", id="fail/garbage"),
        pytest.param(b"", "empty CSR", id="fail/empty"),
        pytest.param(
            b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "CSR", id="fail/pem"
        ),
    ],
)
def test_submit_rejects_what_is_not_a_csr(officers: Cli, tmp_path: Path, content: bytes, message: str) -> None:
    before = officers("ra", "requests", "--state", "all").stdout
    bad = tmp_path / "bad.csr"
    bad.write_bytes(content)
    refused = officers("ra", "submit", "web", "--profile", "tls-server", "--csr", str(bad), check=False)
    assert refused.returncode == BAD_INPUT, refused.stdout + refused.stderr
    assert refused.stdout == "" and message in refused.stderr and "Traceback" not in refused.stderr
    assert officers("ra", "requests", "--state", "all").stdout == before


def test_submit_refuses_a_profile_the_ra_does_not_take(officers: Cli, tmp_path: Path) -> None:
    csr = openssl_csr(tmp_path, "client", cn="client", san="DNS:client.example.com")
    refused = officers("ra", "submit", "web", "--profile", "tls-client", "--csr", str(csr), check=False)
    assert refused.returncode == NOT_FOUND and "it takes: tls-server" in refused.stderr
    missing = officers("ra", "submit", "web", "--profile", "tls-server", "--csr", str(tmp_path / "nope"), check=False)
    assert missing.returncode == BAD_INPUT and "cannot read CSR" in missing.stderr + missing.stdout


def test_deny_needs_a_reason_where_the_policy_says_so(officers: Cli, tmp_path: Path) -> None:
    request_id = submit(officers, tmp_path, name="deny-me")
    silent = as_user(officers, "alice", "ra", "deny", request_id, check=False)
    assert silent.returncode == BAD_INPUT and "needs a reason to deny" in silent.stderr
    assert re.search(r"state\s+pending", officers("ra", "request", "show", request_id).stdout)
    operator = officers("ra", "deny", request_id, "--reason", "no", check=False)
    assert operator.returncode == NOT_ALLOWED and "--as USER" in operator.stderr
    denied = as_user(officers, "alice", "ra", "deny", request_id, "--reason", "unknown host")
    assert f"request {request_id} denied" in denied.stdout
    details = officers("ra", "request", "show", request_id).stdout
    assert re.search(r"state\s+denied", details) and "unknown host" in details and "alice" in details
    assert request_id not in officers("ra", "requests").stdout
    late = as_user(officers, "bob", "ra", "approve", request_id, check=False)
    assert late.returncode == CONFLICT and "is denied" in late.stderr

    officers("ra", "create", "lenient", "--ca", "issuing", "--profile", "tls-server", "--deny-without-reason")
    other = submit(officers, tmp_path, ra="lenient", name="lenient")
    as_user(officers, "bob", "ra", "deny", other)
    assert re.search(r"state\s+denied", officers("ra", "request", "show", other).stdout)


def test_requests_lists_the_queue_and_cancel_withdraws(officers: Cli, tmp_path: Path) -> None:
    request_id = submit(officers, tmp_path, name="queued")
    queue = officers("ra", "requests", "--ra", "web").stdout
    assert re.search(rf"{request_id}\s*│\s*pending\s*│\s*web\s*│\s*tls-server\s*│\s*csr\s*│\s*CN=queued", queue), queue
    assert re.search(rf"{request_id}.*0/2", queue)
    assert request_id in as_user(officers, "alice", "ra", "requests").stdout  # an officer sees the queue too
    unknown = officers("ra", "requests", "--ra", "nowhere", check=False)
    assert unknown.returncode == NOT_FOUND and "no RA named 'nowhere'" in unknown.stderr
    state = officers("ra", "requests", "--state", "waiting", check=False)
    assert state.returncode == BAD_INPUT and "unknown state 'waiting'" in state.stderr

    officers("ra", "cancel", request_id, "--reason", "submitted twice")
    assert request_id not in officers("ra", "requests").stdout
    assert re.search(rf"{request_id}\s*│\s*cancelled", officers("ra", "requests", "--state", "cancelled").stdout)
    nothing = officers("ra", "download", request_id, check=False)
    assert nothing.returncode == CONFLICT and "cancelled; nothing to download" in nothing.stderr
    missing = officers("ra", "request", "show", "0000-0000-0000-0000", check=False)
    assert missing.returncode == NOT_FOUND and "no such request" in missing.stderr


def test_policy_adds_changes_and_removes_a_profile(officers: Cli, tmp_path: Path) -> None:
    officers("ra", "create", "devices", "--ca", "issuing", "--profile", "tls-server", "--approvals", "1")
    added = officers("ra", "policy", "devices", "--profile", "tls-client", "--approvals", "0", "--allow-anonymous")
    assert "tls-client: issued without approval, anonymous requests allowed" in added.stdout
    changed = officers("ra", "policy", "devices", "--profile", "tls-server", "--lifetime-hours", "48")
    assert "1 approval by ra-officer" in changed.stdout and "48 h" in changed.stdout  # the rest kept
    grouped = officers("ra", "policy", "devices", "--profile", "tls-server", "--approver-group", "ops")
    assert "1 approval by ra-officer in group ops" in grouped.stdout
    officers("ra", "policy", "devices", "--profile", "tls-server", "--any-group", "--deny-without-reason")
    shown = officers("ra", "show", "devices").stdout
    assert re.search(r"tls-client\s*│\s*0\s*│\s*ra-officer\s*│\s*-\s*│\s*yes", shown), shown
    assert re.search(r"tls-server\s*│\s*1\s*│\s*ra-officer\s*│\s*-\s*│.*reason optional", shown), shown
    assert re.search(r"tls-server\s*│\s*1\s*│.*│\s*no\s*│\s*48 h", shown), shown

    csr = openssl_csr(tmp_path, "device", cn="device-1", san="DNS:device-1.example.com")
    at_once = officers("ra", "submit", "devices", "--profile", "tls-client", "--csr", str(csr))
    assert "issued" in at_once.stderr  # no approval needed
    pem = officers("ra", "download", at_once.stdout.strip()).stdout
    assert pem.count("BEGIN CERTIFICATE") == 3  # the certificate, CA issuing, the root

    bad = officers("ra", "policy", "devices", "--profile", "tls-client", "--approvals", "6", check=False)
    assert bad.returncode == BAD_INPUT and "approvals must be between 0 and 5" in bad.stderr
    both = officers("ra", "policy", "devices", "--profile", "tls-client", "--remove", "--approvals", "0", check=False)
    assert both.returncode == BAD_INPUT and "--remove takes no policy options" in both.stderr
    officers("ra", "policy", "devices", "--profile", "tls-client", "--remove")
    assert "tls-client" not in officers("ra", "show", "devices").stdout
    last = officers("ra", "policy", "devices", "--profile", "tls-server", "--remove", check=False)
    assert last.returncode == BAD_INPUT and "last profile" in last.stderr


def test_ra_create_and_policy_wait_for_a_second_administrator(cli: Cli) -> None:
    cli.hierarchy()
    add_people(cli)
    cli("policy", "set", "dual-control.approvals", "1")
    asked = cli("ra", "create", "web", "--ca", "issuing", "--profile", "tls-server", "--approvals", "2", check=False)
    assert asked.returncode == WAITING, asked.stdout + asked.stderr
    assert "waiting for approval: create RA web on CA issuing" in asked.stderr
    operation = re.search(r"operation ([0-9a-f]{16})", asked.stderr)
    assert operation is not None
    assert "web" not in cli("ra", "list").stdout

    impossible = cli("ra", "create", "other", "--ca", "nowhere", "--profile", "tls-server", check=False)
    assert impossible.returncode == NOT_FOUND  # refused at once, not put before an approver
    assert "other" not in cli("approval", "list").stdout

    as_user(cli, "dana", "approval", "approve", operation.group(1))
    assert "web" in cli("ra", "list").stdout
    policy = cli("ra", "policy", "web", "--profile", "tls-client", "--approvals", "1", check=False)
    assert policy.returncode == WAITING and "tls-client on RA web" in policy.stderr
    assert "tls-client" not in cli("ra", "show", "web").stdout
