"""Real ACME clients against ``chancery serve``: certbot (standalone http-01 on a high port, with
external account binding on the directory that requires it: obtain, renew, revoke) and lego
(http-01, tls-alpn-01; obtain, renew, revoke). The directories are made with the contract commands:

chancery acme directory create NAME --ra RA [--require-eab] [--challenge http-01 ...]
chancery acme eab create --directory NAME      # prints "KID HMAC_B64URL"
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from tests.interop.conftest import Cli
from tests.interop.server import Server, free_port

pytestmark = pytest.mark.interop
HTTP_PORT = free_port()
ALPN_PORT = free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "CHANCERY_ACME_VALIDATION_HOST": "127.0.0.1",
        "CHANCERY_ACME_HTTP01_PORT": str(HTTP_PORT),
        "CHANCERY_ACME_TLSALPN01_PORT": str(ALPN_PORT),
    }
    cli = Cli(tmp_path_factory.mktemp("acme") / "data", **env)
    cli.hierarchy()
    cli("ra", "create", "acme", "--ca", "issuing", "--profile", "tls-server", "--approvals", "0")
    cli("acme", "directory", "create", "open", "--ra", "acme")
    cli("acme", "directory", "create", "bound", "--ra", "acme", "--require-eab", "--challenge", "http-01")
    with Server(cli) as running:
        yield running


def eab(server: Server) -> tuple[str, str]:
    printed = server.cli("acme", "eab", "create", "--directory", "bound").stdout
    assert re.fullmatch(r"[A-Za-z0-9_-]+ [A-Za-z0-9_-]{43}\n", printed), printed
    kid, hmac_key = printed.split()
    return kid, hmac_key


def certbot(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    paths = ["--config-dir", str(tmp / "cfg"), "--work-dir", str(tmp / "work"), "--logs-dir", str(tmp / "logs")]
    return subprocess.run(["certbot", *args, *paths], capture_output=True, text=True, timeout=180)


@pytest.mark.skipif(shutil.which("certbot") is None, reason="certbot is not installed")
def test_certbot_with_eab_obtains_renews_and_revokes(server: Server, tmp_path: Path) -> None:
    url = f"{server.url}/acme/bound/directory"
    kid, hmac_key = eab(server)
    common = ["--non-interactive", "--server", url]
    obtain = [
        "certonly", *common, "--agree-tos", "--register-unsafely-without-email", "--eab-kid", kid,
        "--eab-hmac-key", hmac_key, "--standalone", "--http-01-address", "127.0.0.1", "--http-01-port",
        str(HTTP_PORT), "-d", "certbot.example.com", "--key-type", "ecdsa",
    ]  # fmt: skip
    done = certbot(tmp_path, *obtain)
    assert done.returncode == 0, done.stderr
    cert_path = tmp_path / "cfg" / "live" / "certbot.example.com" / "cert.pem"
    first = x509.load_pem_x509_certificate(cert_path.read_bytes())
    renewed = certbot(tmp_path, *obtain, "--force-renewal")
    assert renewed.returncode == 0, renewed.stderr
    second = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert second.serial_number != first.serial_number
    revoked = certbot(
        tmp_path,
        "revoke",
        *common,
        "--cert-path",
        str(cert_path),
        "--reason",
        "keycompromise",
        "--no-delete-after-revoke",
    )
    assert revoked.returncode == 0, revoked.stderr
    shown = server.cli("cert", "show", format(second.serial_number, "x"), "--ca", "issuing", check=False)
    assert "revoked" in shown.stdout.lower(), shown.stdout + shown.stderr


@pytest.mark.skipif(shutil.which("lego") is None, reason="lego is not installed")
@pytest.mark.parametrize("challenge", ["http", "tls"])
def test_lego_obtains_renews_and_revokes(server: Server, tmp_path: Path, challenge: str) -> None:
    name = f"lego-{challenge}.example.com"
    port = HTTP_PORT if challenge == "http" else ALPN_PORT
    base = [
        "lego", "--server", f"{server.url}/acme/open/directory", "--accept-tos", "--email", "t@example.com",
        "--path", str(tmp_path / "lego"), "--key-type", "ec256", f"--{challenge}", f"--{challenge}.port",
        f"127.0.0.1:{port}", "-d", name,
    ]  # fmt: skip
    for command in (["run"], ["renew", "--days", "400", "--no-random-sleep"], ["revoke"]):
        done = subprocess.run([*base, *command], capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
