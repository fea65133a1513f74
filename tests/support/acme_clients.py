"""Driving real ACME clients (certbot, lego) against ``chancery serve``: one server per test module with
``pebble-challtestsrv`` as its DNS resolver, the directories made with the contract commands, DNS hooks
for the clients, and the checks every client test makes (``openssl verify``, revocation seen by the CA)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.interop.conftest import Cli, verify
from tests.interop.server import Server, free_port
from tests.support.acme_challenges import ChallTestSrv

CERTBOT = shutil.which("certbot")
LEGO = shutil.which("lego")
CLIENT_TIMEOUT = 180


@dataclass
class AcmeHost:
    """``chancery serve`` with its validation pointed at 127.0.0.1 and at ``dns`` for DNS."""

    server: Server
    dns: ChallTestSrv
    http_port: int
    alpn_port: int
    root: Path  # PEM of the root CA
    issuing: Path  # PEM of the issuing CA (the chain's only untrusted certificate)

    @property
    def cli(self) -> Cli:
        return self.server.cli

    def directory(self, name: str) -> str:
        return f"{self.server.url}/acme/{name}/directory"

    def eab(self, directory: str) -> tuple[str, str]:
        printed = self.cli("acme", "eab", "create", "--directory", directory).stdout
        assert re.fullmatch(r"[A-Za-z0-9_-]+ [A-Za-z0-9_-]{43}\n", printed), printed
        kid, hmac_key = printed.split()
        return kid, hmac_key

    def check_issued(self, leaf: x509.Certificate, tmp: Path, *names: str) -> None:
        """The certificate chains to the root (``openssl verify -x509_strict``) and names exactly ``names``."""
        path = tmp / f"leaf-{leaf.serial_number:x}.pem"
        path.write_bytes(leaf.public_bytes(Encoding.PEM))
        checked = verify(self.root, self.issuing, path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sorted(san.get_values_for_type(x509.DNSName)) == sorted(names)

    def state(self, leaf: x509.Certificate) -> str:
        """The status ``chancery cert show`` gives the certificate: valid, revoked..."""
        shown = self.cli("cert", "show", format(leaf.serial_number, "x"), "--ca", "issuing").stdout
        found = re.search(r"^\s*status\s+(\S+)$", shown, re.MULTILINE)
        assert found is not None, shown
        return found.group(1)


@contextmanager
def acme_host(tmp: Path, *setup: tuple[str, ...]) -> Iterator[AcmeHost]:
    """A hierarchy (root, issuing), the ``chancery`` commands in ``setup``, then the server."""
    if shutil.which("pebble-challtestsrv") is None:
        pytest.skip("pebble-challtestsrv is not installed")
    dns = ChallTestSrv()
    try:
        http_port, alpn_port = free_port(), free_port()
        env = {
            "CHANCERY_ACME_VALIDATION_HOST": "127.0.0.1",
            "CHANCERY_ACME_HTTP01_PORT": str(http_port),
            "CHANCERY_ACME_TLSALPN01_PORT": str(alpn_port),
            "CHANCERY_ACME_DNS_RESOLVER": f"127.0.0.1:{dns.dns_port}",
        }
        cli = Cli(tmp / "data", **env)
        cli.hierarchy()
        for command in setup:
            cli(*command)
        with Server(cli) as server:
            for name in ("root", "issuing"):  # from the AIA endpoint: quicker than two more commands
                der = httpx.get(f"{server.url}/ca/{name}.crt").raise_for_status().content
                (tmp / f"{name}.pem").write_bytes(x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM))
            yield AcmeHost(server, dns, http_port, alpn_port, tmp / "root.pem", tmp / "issuing.pem")
    finally:
        dns.close()


HOOK = """#!{python}
# A DNS hook for lego (--dns exec: "present|cleanup FQDN VALUE") and certbot (--manual-*-hook "HOOK auth|clear",
# CERTBOT_DOMAIN and CERTBOT_VALIDATION in the environment): sets or clears the TXT record in pebble-challtestsrv.
import json, os, sys, urllib.request

mode = sys.argv[1]
if mode in ("present", "cleanup"):
    host, value = sys.argv[2], sys.argv[3]
else:
    host, value = "_acme-challenge." + os.environ["CERTBOT_DOMAIN"] + ".", os.environ["CERTBOT_VALIDATION"]
endpoint = "set-txt" if mode in ("present", "auth") else "clear-txt"
body = json.dumps({{"host": host, "value": value}} if endpoint == "set-txt" else {{"host": host}}).encode()
opener = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
opener.open(urllib.request.Request("http://127.0.0.1:{port}/" + endpoint, data=body, method="POST"), timeout=10)
"""


def dns_hook(tmp: Path, host: AcmeHost) -> Path:
    """An executable hook script that talks to the host's challtestsrv."""
    path = tmp / "dns-hook.py"
    path.write_text(HOOK.format(python=sys.executable, port=host.dns.management_port))
    path.chmod(0o755)
    return path


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, env=env)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done


def certbot_paths(tmp: Path) -> list[str]:
    return ["--config-dir", str(tmp / "cfg"), "--work-dir", str(tmp / "work"), "--logs-dir", str(tmp / "logs")]


def certbot_cert(tmp: Path, name: str) -> tuple[x509.Certificate, Path]:
    path = tmp / "cfg" / "live" / name / "cert.pem"
    return x509.load_pem_x509_certificate(path.read_bytes()), path


def lego_cert(tmp: Path, name: str) -> x509.Certificate:
    """The leaf lego saved (its bundle starts with it); a wildcard's file is named ``_.rest``."""
    path = tmp / "lego" / "certificates" / f"{name.replace('*', '_')}.crt"
    return x509.load_pem_x509_certificates(path.read_bytes())[0]
