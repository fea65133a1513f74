"""Real SCEP clients against ``chancery serve``: micromdm's scepclient (Debian ``scep``) enrolls,
renews with ``-certificate``, and waits out a two-officer approval; ``openssl verify`` accepts what
they receive, and pkilint finds nothing wrong with it.

The hierarchy is EC (the default): scepclient encrypts to every certificate GetCACert lists, so
GetCACert lists only those that can receive an RSA envelope (the RA certificate here).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.interop.conftest import Cli, openssl, verify
from tests.interop.server import Server
from tests.interop.test_cli_ra import add_people, as_user
from tests.support.lint import assert_lints_clean

pytestmark = [pytest.mark.interop, pytest.mark.slow]
SCEPCLIENT = shutil.which("scepclient")
needs_scepclient = pytest.mark.skipif(SCEPCLIENT is None, reason="Debian package scep (micromdm scepclient) missing")


@pytest.fixture(scope="module")
def scep_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, Server]]:
    """RA ``devices`` (no approval) is the default SCEP RA; RA ``guarded`` needs two officers."""
    cli = Cli(tmp_path_factory.mktemp("scep") / "data")
    cli.hierarchy()
    add_people(cli)
    cli("ra", "create", "devices", "--ca", "issuing", "--profile", "device", "--approvals", "0")
    cli("ra", "create", "guarded", "--ca", "issuing", "--profile", "device", "--approvals", "2")
    cli("role", "grant", "ra-officer", "--user", "bob", "--ra", "guarded")
    cli("scep", "configure", "--ra", "devices")
    cli("scep", "configure", "--ra", "guarded", "--not-default")
    with Server(cli) as server:
        yield cli, server


def challenge(cli: Cli, ra: str = "devices") -> str:
    printed = cli("scep", "challenge", "create", "--ra", ra, "--ttl", "1h").stdout
    assert printed.count("\n") == 1 and len(printed.strip()) >= 20, printed  # only the challenge
    return printed.strip()


def scepclient(directory: Path, url: str, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    assert SCEPCLIENT is not None
    directory.mkdir(exist_ok=True)
    return subprocess.run(
        [SCEPCLIENT, "-server-url", url, "-private-key", "client.key", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def chain_files(cli: Cli, directory: Path) -> tuple[Path, Path]:
    root, issuing = directory / "root.pem", directory / "issuing.pem"
    root.write_bytes(cli.raw("ca", "export", "root"))
    issuing.write_bytes(cli.raw("ca", "export", "issuing"))
    return root, issuing


def check_issued(cli: Cli, directory: Path, cn: str, name: str = "client.pem") -> x509.Certificate:
    pem = (directory / name).read_bytes()
    certificate = x509.load_pem_x509_certificates(pem)[0]
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    root, issuing = chain_files(cli, directory)
    result = verify(root, issuing, directory / name)
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr
    assert_lints_clean(certificate)
    return certificate


@needs_scepclient
def test_scepclient_enrolls_and_renews(scep_server: tuple[Cli, Server], tmp_path: Path) -> None:
    cli, server = scep_server
    device = tmp_path / "device"
    enrolled = scepclient(device, f"{server.url}/scep", "-challenge", challenge(cli), "-cn", "scep-test")
    assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
    first = check_issued(cli, device, "scep-test")

    # Renewal (RenewalReq): signed with the current certificate, no challenge needed; scepclient
    # writes the new certificate over the one it renewed.
    (device / "client.pem").rename(device / "current.pem")
    renewed = scepclient(device, f"{server.url}/scep", "-certificate", "current.pem", "-cn", "scep-test")
    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    second = check_issued(cli, device, "scep-test", "current.pem")
    assert second.serial_number != first.serial_number
    assert second.public_key() == first.public_key()  # scepclient renews its key as it is


@needs_scepclient
def test_scepclient_with_a_used_challenge_gets_nothing(scep_server: tuple[Cli, Server], tmp_path: Path) -> None:
    cli, server = scep_server
    secret = challenge(cli)
    assert scepclient(tmp_path / "a", f"{server.url}/scep", "-challenge", secret, "-cn", "first").returncode == 0
    again = scepclient(tmp_path / "b", f"{server.url}/scep", "-challenge", secret, "-cn", "second")
    assert again.returncode != 0 and "badRequest" in again.stdout + again.stderr
    assert not (tmp_path / "b" / "client.pem").exists()
    refused = [line for line in cli("audit", "export").stdout.splitlines() if '"scep.refused"' in line]
    assert "challenge already used" in refused[-1]


@needs_scepclient
def test_pending_enrollment_completes_after_two_approvals(scep_server: tuple[Cli, Server], tmp_path: Path) -> None:
    """scepclient is told PENDING, waits, and asks again; two officers approve meanwhile."""
    cli, server = scep_server
    device = tmp_path / "pending"
    result: dict[str, subprocess.CompletedProcess[str]] = {}
    secret = challenge(cli, "guarded")
    runner = threading.Thread(
        target=lambda: result.update(
            run=scepclient(
                device, f"{server.url}/scep/guarded", "-challenge", secret, "-cn", "pending-device", timeout=150
            )
        )
    )
    runner.start()
    request_id = _wait_for_pending(cli, "guarded")
    as_user(cli, "alice", "ra", "approve", request_id)
    assert "pending" in cli("ra", "request", "show", request_id).stdout
    as_user(cli, "bob", "ra", "approve", request_id)
    runner.join(170)
    assert not runner.is_alive()
    run = result["run"]
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PENDING" in run.stdout + run.stderr
    check_issued(cli, device, "pending-device")


def _wait_for_pending(cli: Cli, ra: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = cli("ra", "requests", "--ra", ra, "--state", "pending").stdout
        for word in listed.split():
            if len(word) == 19 and word.count("-") == 3:
                return word
        time.sleep(0.5)
    raise AssertionError("scepclient's request never reached the RA")


def test_get_ca_caps_and_ca_cert_by_get(scep_server: tuple[Cli, Server], tmp_path: Path) -> None:
    cli, server = scep_server
    caps = httpx.get(f"{server.url}/scep", params={"operation": "GetCACaps"})
    assert caps.status_code == 200 and caps.headers["content-type"].startswith("text/plain")
    offered = caps.text.split()
    for capability in ("POSTPKIOperation", "SHA-256", "SHA-512", "AES", "SCEPStandard", "Renewal"):
        assert capability in offered
    assert "DES" not in offered and "SHA-1" not in offered
    certs = httpx.get(f"{server.url}/scep/guarded", params={"operation": "GetCACert"})
    assert certs.status_code == 200 and certs.headers["content-type"] == "application/x-x509-ca-ra-cert"
    (tmp_path / "ca.p7").write_bytes(certs.content)
    printed = openssl("pkcs7", "-inform", "DER", "-in", str(tmp_path / "ca.p7"), "-print_certs").stdout
    assert "CN=SCEP RA guarded" in printed.replace(" = ", "=")
    unknown = httpx.get(f"{server.url}/scep/nobody", params={"operation": "GetCACaps"})
    assert unknown.status_code == 404 and "does not answer SCEP" in unknown.text
    bogus = httpx.get(f"{server.url}/scep", params={"operation": "Frobnicate"})
    assert bogus.status_code == 400


CERTMONGER = shutil.which("certmonger")
needs_certmonger = pytest.mark.skipif(
    CERTMONGER is None or shutil.which("dbus-run-session") is None, reason="certmonger or dbus missing"
)


@needs_certmonger
def test_certmonger_enrolls_through_its_daemon(scep_server: tuple[Cli, Server], tmp_path: Path) -> None:
    """certmonger's daemon on a private D-Bus session, its state in a temporary folder: ``getcert
    add-scep-ca`` with the RA certificate from GetCACert, then ``getcert request -L CHALLENGE -w``."""
    cli, server = scep_server
    for folder in ("cas", "requests", "tmp", "local"):
        (tmp_path / folder).mkdir()
    ra = subprocess.run(
        ["/usr/lib/certmonger/scep-submit", "-u", f"{server.url}/scep", "-C"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (tmp_path / "ra.pem").write_text(ra)
    (tmp_path / "ca.pem").write_bytes(cli.raw("ca", "export", "issuing", "--chain"))
    script = f"""
certmonger -s -n -d 2 > {tmp_path}/daemon.log 2>&1 &
for i in $(seq 1 50); do getcert list-cas -s >/dev/null 2>&1 && break; sleep 0.2; done
getcert add-scep-ca -s -c chancery -u {server.url}/scep -r {tmp_path}/ra.pem -N {tmp_path}/ca.pem
getcert request -s -c chancery -k {tmp_path}/cm.key -f {tmp_path}/cm.pem -L {challenge(cli)} -N CN=cm-test -w -v
getcert list -s
"""
    env = {
        **cli.env,
        "CERTMONGER_CAS_DIR": str(tmp_path / "cas"),
        "CERTMONGER_REQUESTS_DIR": str(tmp_path / "requests"),
        "CERTMONGER_TMPDIR": str(tmp_path / "tmp"),
        "CERTMONGER_LOCAL_CA_DIR": str(tmp_path / "local"),
    }
    run = subprocess.run(
        ["dbus-run-session", "--", "bash", "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert "status: MONITORING" in run.stdout, run.stdout + run.stderr + (tmp_path / "daemon.log").read_text()
    (tmp_path / "client.pem").write_bytes((tmp_path / "cm.pem").read_bytes())
    check_issued(cli, tmp_path, "cm-test")


def test_cli_contract_and_bad_input(scep_server: tuple[Cli, Server]) -> None:
    cli, _ = scep_server
    many = cli("scep", "challenge", "create", "--ra", "devices", "--count", "3", "--ttl", "90s").stdout.split("\n")
    assert len(many) == 4 and many[-1] == "" and len(set(many[:3])) == 3
    for args, message in [
        (["--ra", "nobody"], "no RA named"),
        (["--ra", "devices", "--ttl", "31d"], "between 1 second and 30 days"),
        (["--ra", "devices", "--ttl", "soon"], "looks like 90s"),
        (["--ra", "devices", "--count", "0"], "between 1 and"),
    ]:
        refused = cli("scep", "challenge", "create", *args, check=False)
        assert refused.returncode != 0 and message in refused.stderr and refused.stdout == ""
    listed = cli("scep", "list").stdout
    assert "devices" in listed and "guarded" in listed
    unknown = cli("scep", "configure", "--ra", "nobody", check=False)
    assert unknown.returncode == 3 and "no RA named" in unknown.stderr
