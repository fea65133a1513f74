"""lego against ``chancery serve``: http-01 without external account binding on one directory and with it on
another, tls-alpn-01, and dns-01 (with a wildcard) through ``pebble-challtestsrv``, which is Chancery's DNS
resolver too. Each obtains, renews (``renew --days`` beyond the validity, so it really renews) and revokes;
every certificate passes ``openssl verify`` against the root. The directories come from the contract commands:

chancery acme directory create NAME --ra RA [--require-eab] [--challenge http-01 ...]
chancery acme eab create --directory NAME      # prints "KID HMAC_B64URL"
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.acme_clients import LEGO, AcmeHost, acme_host, dns_hook, lego_cert, run

pytestmark = [
    pytest.mark.interop,
    pytest.mark.slow,
    pytest.mark.skipif(LEGO is None, reason="lego is not installed"),
]
RENEW = ["renew", "--days", "3650", "--no-random-sleep"]  # longer than any validity: always renews


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeHost]:
    with acme_host(
        tmp_path_factory.mktemp("acme-lego"),
        ("ra", "create", "acme", "--ca", "issuing", "--profile", "tls-server", "--approvals", "0"),
        ("acme", "directory", "create", "open", "--ra", "acme"),
        ("acme", "directory", "create", "bound", "--ra", "acme", "--require-eab", "--challenge", "http-01"),
    ) as running:
        yield running


def lego(host: AcmeHost, tmp: Path, directory: str, *options: str) -> list[str]:
    return [
        "lego", "--server", host.directory(directory), "--accept-tos", "--email", "t@example.com",
        "--path", str(tmp / "lego"), "--key-type", "ec256", *options,
    ]  # fmt: skip


def domains(*names: str) -> list[str]:
    return [arg for name in names for arg in ("-d", name)]


def cycle(
    host: AcmeHost, tmp: Path, base: list[str], names: tuple[str, ...], env: dict[str, str] | None = None
) -> None:
    """run, renew, revoke: a new certificate each time, both verified, the second revoked at the CA."""
    run([*base, *domains(*names), "run"], env)
    first = lego_cert(tmp, names[0])
    host.check_issued(first, tmp, *names)
    run([*base, *domains(*names), *RENEW], env)
    second = lego_cert(tmp, names[0])
    assert second.serial_number != first.serial_number, "lego renew did not renew"
    host.check_issued(second, tmp, *names)
    assert host.state(second) == "valid"
    run([*base, *domains(names[0]), "revoke"], env)  # one certificate, filed under its first name
    assert (host.state(first), host.state(second)) == ("valid", "revoked")


def test_http01_without_eab(host: AcmeHost, tmp_path: Path) -> None:
    names = ("lego-http.example.com",)
    base = lego(host, tmp_path, "open", "--http", "--http.port", f"127.0.0.1:{host.http_port}")
    cycle(host, tmp_path, base, names)


def test_http01_with_eab(host: AcmeHost, tmp_path: Path) -> None:
    kid, hmac_key = host.eab("bound")
    names = ("lego-eab.example.com", "www.lego-eab.example.com")
    eab = ["--eab", "--kid", kid, "--hmac", hmac_key]
    base = lego(host, tmp_path, "bound", *eab, "--http", "--http.port", f"127.0.0.1:{host.http_port}")
    cycle(host, tmp_path, base, names)


def test_http01_eab_required_and_bound_once(host: AcmeHost, tmp_path: Path) -> None:
    """Without a binding lego is refused; a key another account holds is refused; nothing is issued."""
    http = ["--http", "--http.port", f"127.0.0.1:{host.http_port}"]
    names = domains("lego-refused.example.com")
    bare = lego(host, tmp_path / "a", "bound", *http, *names, "run")
    done = subprocess.run(bare, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "requires External Account Binding" in done.stderr  # the directory's meta
    kid, hmac_key = host.eab("bound")
    eab = ["--eab", "--kid", kid, "--hmac", hmac_key]
    run(lego(host, tmp_path / "b", "bound", *eab, *http, *names, "run"))
    again = lego(host, tmp_path / "c", "bound", *eab, *http, *names, "run")
    reused = subprocess.run(again, capture_output=True, text=True, timeout=120)
    assert reused.returncode != 0 and "unauthorized" in reused.stdout + reused.stderr
    assert not (tmp_path / "c" / "lego" / "certificates" / "lego-refused.example.com.crt").exists()


def test_tls_alpn01(host: AcmeHost, tmp_path: Path) -> None:
    names = ("lego-tls.example.com",)
    base = lego(host, tmp_path, "open", "--tls", "--tls.port", f"127.0.0.1:{host.alpn_port}")
    cycle(host, tmp_path, base, names)


def test_dns01_with_a_wildcard(host: AcmeHost, tmp_path: Path) -> None:
    names = ("*.wild.example.com", "wild.example.com")
    dns = ["--dns", "exec", "--dns.resolvers", f"127.0.0.1:{host.dns.dns_port}", "--dns.disable-cp"]
    env = {
        **os.environ,
        "EXEC_PATH": str(dns_hook(tmp_path, host)),
        "EXEC_SEQUENCE_INTERVAL": "1",  # else lego waits 60 s between the two challenges on one name
        "EXEC_POLLING_INTERVAL": "1",
        "EXEC_PROPAGATION_TIMEOUT": "30",
    }
    cycle(host, tmp_path, lego(host, tmp_path, "open", *dns), names, env)
