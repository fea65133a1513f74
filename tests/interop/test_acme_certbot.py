"""certbot against ``chancery serve``: standalone http-01 on a high port without external account binding and
with it (obtain, ``renew --force-renewal``, revoke), dns-01 through manual hooks that set TXT records in
``pebble-challtestsrv`` (Chancery's DNS resolver), and an order that waits, ``processing``, until two officers
approve its RA request with ``chancery ra approve --as``; certbot then receives the certificate. Every
certificate passes ``openssl verify`` against the root."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.acme_clients import (
    CERTBOT,
    CLIENT_TIMEOUT,
    AcmeHost,
    acme_host,
    certbot_cert,
    certbot_paths,
    dns_hook,
    run,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.slow,
    pytest.mark.skipif(CERTBOT is None, reason="certbot is not installed"),
]
OFFICERS = {"olga": "first officer, long secret 17", "oscar": "second officer, long secret 23"}
REQUEST_ID = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeHost]:
    """Directories ``open`` (RA acme, no approval), ``bound`` (EAB required), ``held`` (RA held: 2 approvals
    by its officers olga and oscar)."""
    setup: list[tuple[str, ...]] = [
        ("ra", "create", "acme", "--ca", "issuing", "--profile", "tls-server", "--approvals", "0"),
        ("ra", "create", "held", "--ca", "issuing", "--profile", "tls-server", "--approvals", "2"),
        ("acme", "directory", "create", "open", "--ra", "acme"),
        ("acme", "directory", "create", "bound", "--ra", "acme", "--require-eab", "--challenge", "http-01"),
        ("acme", "directory", "create", "held", "--ra", "held", "--challenge", "http-01"),
    ]
    with acme_host(tmp_path_factory.mktemp("acme-certbot"), *setup) as running:
        for name, password in OFFICERS.items():
            running.cli("user", "add", name, "--password-stdin", stdin=password + "\n")
            running.cli("role", "grant", "ra-officer", "--user", name, "--ra", "held")
        yield running


def certbot(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(["certbot", *args, *certbot_paths(tmp)])


def obtain_args(host: AcmeHost, directory: str, *more: str) -> list[str]:
    return [
        "certonly", "--non-interactive", "--server", host.directory(directory), "--agree-tos",
        "--register-unsafely-without-email", "--key-type", "ecdsa", *more,
    ]  # fmt: skip


def standalone(host: AcmeHost) -> list[str]:
    return ["--standalone", "--http-01-address", "127.0.0.1", "--http-01-port", str(host.http_port)]


def revoke(host: AcmeHost, tmp: Path, directory: str, cert_path: Path) -> None:
    certbot(
        tmp, "revoke", "--non-interactive", "--server", host.directory(directory), "--cert-path", str(cert_path),
        "--reason", "keycompromise", "--no-delete-after-revoke",
    )  # fmt: skip


def test_http01_without_eab_obtains_renews_and_revokes(host: AcmeHost, tmp_path: Path) -> None:
    name = "certbot.example.com"
    certbot(tmp_path, *obtain_args(host, "open", *standalone(host), "-d", name))
    first, cert_path = certbot_cert(tmp_path, name)
    host.check_issued(first, tmp_path, name)
    certbot(tmp_path, "renew", "--non-interactive", "--force-renewal", "--no-random-sleep-on-renew")  # stored config
    second, _ = certbot_cert(tmp_path, name)
    assert second.serial_number != first.serial_number
    host.check_issued(second, tmp_path, name)
    revoke(host, tmp_path, "open", cert_path)
    assert (host.state(first), host.state(second)) == ("valid", "revoked")


def test_http01_with_eab_obtains_renews_and_revokes(host: AcmeHost, tmp_path: Path) -> None:
    name = "certbot-eab.example.com"
    kid, hmac_key = host.eab("bound")
    obtain = obtain_args(host, "bound", "--eab-kid", kid, "--eab-hmac-key", hmac_key, *standalone(host), "-d", name)
    certbot(tmp_path, *obtain)
    first, cert_path = certbot_cert(tmp_path, name)
    host.check_issued(first, tmp_path, name)
    certbot(tmp_path, *obtain, "--force-renewal")
    second, _ = certbot_cert(tmp_path, name)
    assert second.serial_number != first.serial_number
    host.check_issued(second, tmp_path, name)
    revoke(host, tmp_path, "bound", cert_path)
    assert (host.state(first), host.state(second)) == ("valid", "revoked")


def test_dns01_with_manual_hooks(host: AcmeHost, tmp_path: Path) -> None:
    names = ("certbot-dns.example.com", "www.certbot-dns.example.com")
    hook = dns_hook(tmp_path, host)
    dns = [
        "--manual", "--preferred-challenges", "dns", "--manual-auth-hook", f"{hook} auth",
        "--manual-cleanup-hook", f"{hook} clear",
    ]  # fmt: skip
    certbot(tmp_path, *obtain_args(host, "open", *dns, *(arg for name in names for arg in ("-d", name))))
    leaf, cert_path = certbot_cert(tmp_path, names[0])
    host.check_issued(leaf, tmp_path, *names)
    revoke(host, tmp_path, "open", cert_path)
    assert host.state(leaf) == "revoked"


def test_certbot_waits_for_two_approvals(host: AcmeHost, tmp_path: Path) -> None:
    """certbot's order stays processing while the RA request waits; two officers approve it with the CLI and
    certbot, still polling, downloads the certificate."""
    name = "certbot-held.example.com"
    command = ["certbot", *obtain_args(host, "held", *standalone(host), "-d", name, "--issuance-timeout", "170")]
    with subprocess.Popen(
        [*command, *certbot_paths(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as client:
        try:
            request_id = pending_request(host, client)
            for officer in OFFICERS:
                host.cli("ra", "approve", request_id, "--as", officer, "--password-stdin", stdin=OFFICERS[officer])
            out, err = client.communicate(timeout=CLIENT_TIMEOUT)
        finally:
            if client.poll() is None:
                client.kill()
    assert client.returncode == 0, out + err
    log = (tmp_path / "logs" / "letsencrypt.log").read_text()
    assert '"status": "processing"' in log  # what certbot polled while the officers had not approved
    leaf, _ = certbot_cert(tmp_path, name)
    host.check_issued(leaf, tmp_path, name)
    issued = host.cli("ra", "requests", "--ra", "held", "--state", "issued").stdout
    assert request_id in issued


def pending_request(host: AcmeHost, client: subprocess.Popen[str]) -> str:
    """The ID of the RA request certbot's finalize made (it waits, pending, for approvals)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert client.poll() is None, client.communicate()
        found = REQUEST_ID.search(host.cli("ra", "requests", "--ra", "held").stdout)
        if found:
            return found.group(0)
        time.sleep(0.5)
    raise AssertionError("certbot's order never reached the RA")
