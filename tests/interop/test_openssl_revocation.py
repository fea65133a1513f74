"""Revocation as OpenSSL's clients see it: `openssl ocsp` and `openssl verify -crl_check`, against `chancery serve`."""

import base64
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.interop.conftest import Cli, openssl, openssl_csr
from tests.interop.server import Server, free_port

pytestmark = pytest.mark.interop


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Cli, Server, dict[str, str]]]:
    port = free_port()
    cli = Cli(tmp_path / "data", CHANCERY_BASE_URL=f"http://127.0.0.1:{port}")
    cli.hierarchy("ec-p256", "--admin-token-out", str(tmp_path / "token"))
    cli("ca", "export", "root", "--out", str(tmp_path / "root.pem"))
    cli("ca", "export", "issuing", "--out", str(tmp_path / "ca.pem"))
    server = Server(cli, port).start()
    try:
        yield cli, server, {"Authorization": f"Bearer {(tmp_path / 'token').read_text().strip()}"}
    finally:
        server.stop()


def ocsp(tmp_path: Path, server: Server, leaf: Path, *extra: str) -> str:
    result = openssl(
        "ocsp",
        "-issuer",
        str(tmp_path / "ca.pem"),
        "-cert",
        str(leaf),
        "-url",
        f"{server.url}/ocsp",
        "-CAfile",
        str(tmp_path / "root.pem"),
        *extra,
        check=False,
    )
    return result.stdout + result.stderr


def revoke(server: Server, headers: dict[str, str], leaf: Path, reason: str) -> None:
    serial = openssl("x509", "-in", str(leaf), "-noout", "-serial").stdout.strip().split("=")[1]
    response = httpx.post(
        f"{server.url}/api/v1/cas/issuing/certificates/{serial}/revoke", json={"reason": reason}, headers=headers
    )
    assert response.status_code == 200, response.text


def test_openssl_ocsp_good_then_revoked(served: tuple[Cli, Server, dict[str, str]], tmp_path: Path) -> None:
    cli, server, headers = served
    leaf = tmp_path / "leaf.pem"
    cli.issue(openssl_csr(tmp_path, "leaf"), leaf)
    with_nonce = ocsp(tmp_path, server, leaf, "-resp_text")
    assert "Response verify OK" in with_nonce and f"{leaf}: good" in with_nonce
    assert "OCSP Nonce" in with_nonce and "WARNING: no nonce" not in with_nonce  # openssl checks the nonce echo
    without = ocsp(tmp_path, server, leaf, "-no_nonce")
    assert "Response verify OK" in without and f"{leaf}: good" in without
    with_sha256 = openssl(
        "ocsp",
        "-issuer",
        str(tmp_path / "ca.pem"),
        "-sha256",
        "-cert",
        str(leaf),
        "-url",
        f"{server.url}/ocsp",
        "-CAfile",
        str(tmp_path / "root.pem"),
        check=False,
    )
    assert f"{leaf}: good" in with_sha256.stdout

    revoke(server, headers, leaf, "keyCompromise")
    for extra in ((), ("-no_nonce",)):
        answer = ocsp(tmp_path, server, leaf, *extra)
        assert "Response verify OK" in answer and f"{leaf}: revoked" in answer
        assert "Reason: keyCompromise" in answer


def test_openssl_ocsp_get_and_several_certificates(served: tuple[Cli, Server, dict[str, str]], tmp_path: Path) -> None:
    cli, server, headers = served
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    cli.issue(openssl_csr(tmp_path, "a", cn="a.example.com", san="DNS:a.example.com"), first)
    cli.issue(openssl_csr(tmp_path, "b", cn="b.example.com", san="DNS:b.example.com"), second)
    revoke(server, headers, second, "superseded")
    answer = openssl(
        "ocsp",
        "-issuer",
        str(tmp_path / "ca.pem"),
        "-cert",
        str(first),
        "-cert",
        str(second),
        "-url",
        f"{server.url}/ocsp",
        "-CAfile",
        str(tmp_path / "root.pem"),
        check=False,
    )
    assert f"{first}: good" in answer.stdout and f"{second}: revoked" in answer.stdout
    request = tmp_path / "req.der"
    openssl("ocsp", "-issuer", str(tmp_path / "ca.pem"), "-cert", str(first), "-no_nonce", "-reqout", str(request))
    encoded = urllib.parse.quote(base64.b64encode(request.read_bytes()).decode(), safe="")
    response = httpx.get(f"{server.url}/ocsp/{encoded}")
    assert response.status_code == 200 and "max-age" in response.headers["cache-control"]
    (tmp_path / "resp.der").write_bytes(response.content)
    text = openssl(
        "ocsp",
        "-respin",
        str(tmp_path / "resp.der"),
        "-issuer",
        str(tmp_path / "ca.pem"),
        "-CAfile",
        str(tmp_path / "root.pem"),
        "-cert",
        str(first),
        check=False,
    )
    assert f"{first}: good" in text.stdout


def test_openssl_verify_with_crls_and_deltas(served: tuple[Cli, Server, dict[str, str]], tmp_path: Path) -> None:
    cli, server, headers = served
    good, bad, late = tmp_path / "good.pem", tmp_path / "bad.pem", tmp_path / "late.pem"
    for path in (good, bad, late):
        cli.issue(
            openssl_csr(tmp_path, path.stem, cn=f"{path.stem}.example.com", san=f"DNS:{path.stem}.example.com"), path
        )
    revoke(server, headers, bad, "keyCompromise")

    def fetch(name: str) -> Path:
        target = tmp_path / f"{name}-crl.pem"
        der = httpx.get(f"{server.url}/crl/{name}.crl").content
        (tmp_path / f"{name}-crl.der").write_bytes(der)
        openssl("crl", "-inform", "DER", "-in", str(tmp_path / f"{name}-crl.der"), "-out", str(target))
        return target

    base = fetch("issuing")
    root_crl = fetch("root")

    def verify(leaf: Path, *crls: Path, flags: tuple[str, ...] = ("-crl_check",)) -> str:
        bundle = tmp_path / "crls.pem"
        bundle.write_text("".join(c.read_text() for c in crls))
        result = openssl(
            "verify",
            *flags,
            "-CRLfile",
            str(bundle),
            "-CAfile",
            str(tmp_path / "root.pem"),
            "-untrusted",
            str(tmp_path / "ca.pem"),
            str(leaf),
            check=False,
        )
        return result.stdout + result.stderr

    assert f"{good}: OK" in verify(good, base)
    assert "certificate revoked" in verify(bad, base)
    assert f"{good}: OK" in verify(good, base, root_crl, flags=("-crl_check_all",))
    assert "certificate revoked" in verify(bad, base, root_crl, flags=("-crl_check_all",))

    # `late` is revoked after the base CRL was fetched: only the delta CRL knows
    revoke(server, headers, late, "keyCompromise")
    delta = fetch("issuing-delta")
    assert f"{late}: OK" in verify(late, base)
    assert "certificate revoked" in verify(late, base, delta, flags=("-crl_check", "-use_deltas"))
    assert "certificate revoked" in verify(late, base, delta, root_crl, flags=("-crl_check_all", "-use_deltas"))
    assert f"{good}: OK" in verify(good, base, delta, root_crl, flags=("-crl_check_all", "-use_deltas"))


def test_crl_cli(served: tuple[Cli, Server, dict[str, str]], tmp_path: Path) -> None:
    cli, _server, _headers = served
    out = cli("crl", "generate", "--ca", "issuing", "--out", str(tmp_path / "issuing.crl")).stdout
    assert "CRL" in out and "delta" in out
    text = openssl("crl", "-inform", "DER", "-in", str(tmp_path / "issuing.crl"), "-noout", "-text").stdout
    assert "X509v3 Freshest CRL" in text
    assert "next update" in cli("crl", "show", "--ca", "issuing", "--delta").stdout
    assert (
        "2 partition(s)" in cli("crl", "configure", "--ca", "issuing", "--partitions", "2", "--validity", "3d").stdout
    )
    refused = cli("crl", "configure", "--ca", "issuing", "--partitions", "1", check=False)
    assert refused.returncode == 4
    assert cli("crl", "generate", "--ca", "issuing").stdout.count("partition") == 1


def test_bulk_revocation_cli(served: tuple[Cli, Server, dict[str, str]], tmp_path: Path) -> None:
    cli, _server, _headers = served
    for i in range(5):
        cli.issue(
            openssl_csr(tmp_path, f"c{i}", cn=f"c{i}.example.com", san=f"DNS:c{i}.example.com"), tmp_path / f"c{i}.pem"
        )
    assert (
        "5 certificate(s) of issuing match"
        in cli("cert", "revoke-bulk", "--ca", "issuing", "--profile", "tls-server", "--dry-run").stdout
    )
    done = cli(
        "cert", "revoke-bulk", "--ca", "issuing", "--profile", "tls-server", "--reason", "superseded", "--yes"
    ).stdout
    assert "5 certificate(s) of issuing revoked" in done
    assert cli("cert", "list", "--ca", "issuing", "--status", "revoked").stdout.count("tls-server") == 5
