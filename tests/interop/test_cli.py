"""The `chancery` command as an operator runs it: the README tour, the offline ceremony, bulk issuance."""

import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from typer.testing import CliRunner

from chancery.cli.main import app
from chancery.pki.encoding import load_certificates
from tests.interop.conftest import Cli, openssl, openssl_csr, verify

pytestmark = pytest.mark.interop


def serial_of(pem: Path) -> str:
    return format(x509.load_pem_x509_certificate(pem.read_bytes()).serial_number, "x")


def test_readme_tour(cli: Cli, tmp_path: Path) -> None:
    init = cli("init", "--admin-token-out", str(tmp_path / "admin.token"))
    token = (tmp_path / "admin.token").read_text().strip()
    assert re.fullmatch(r"chy_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", token)
    assert token not in init.stdout
    assert (tmp_path / "admin.token").stat().st_mode & 0o777 == 0o600
    assert "already exists" in cli("init").stdout  # idempotent, no second token

    cli(
        "ca",
        "create-root",
        "root",
        "--subject",
        "CN=Example Root CA,O=Example",
        "--key-type",
        "ec-p384",
        "--days",
        "7300",
    )
    cli("ca", "create-intermediate", "issuing", "--parent", "root", "--subject", "CN=Example Issuing CA 1,O=Example")
    listing = cli("ca", "list").stdout
    assert "root" in listing and "issuing" in listing and "active" in listing

    csr = openssl_csr(tmp_path, "www", cn="www.example.com", san="DNS:www.example.com,DNS:example.com")
    cli(
        "cert",
        "issue",
        "--ca",
        "issuing",
        "--profile",
        "tls-server",
        "--csr",
        str(csr),
        "--out",
        str(tmp_path / "www.pem"),
    )
    cli("ca", "export", "root", "--out", str(tmp_path / "root.pem"))
    cli("ca", "export", "issuing", "--out", str(tmp_path / "issuing.pem"))
    assert verify(tmp_path / "root.pem", tmp_path / "issuing.pem", tmp_path / "www.pem").returncode == 0

    serial = serial_of(tmp_path / "www.pem")
    assert serial in cli("cert", "list", "--ca", "issuing", "--status", "valid").stdout
    cli("cert", "revoke", serial, "--ca", "issuing", "--reason", "keyCompromise")
    again = cli("cert", "revoke", serial, "--ca", "issuing", "--reason", "keyCompromise", check=False)
    assert again.returncode == 4 and "already revoked" in again.stderr
    assert serial in cli("cert", "list", "--status", "revoked").stdout

    cli("cert", "export", serial, "--ca", "issuing", "--format", "der", "--out", str(tmp_path / "www.der"))
    cli("cert", "export", serial, "--ca", "issuing", "--format", "p7b", "--out", str(tmp_path / "www.p7b"))
    assert openssl("x509", "-inform", "DER", "-in", str(tmp_path / "www.der"), "-noout").returncode == 0
    p7 = openssl("pkcs7", "-inform", "DER", "-in", str(tmp_path / "www.p7b"), "-print_certs").stdout
    assert p7.count("BEGIN CERTIFICATE") == 3
    chain = cli.raw("ca", "export", "issuing", "--chain", "--format", "p7b")  # binary on stdout
    assert len(load_certificates(chain)) == 2
    pem_chain = cli("ca", "export", "issuing", "--chain").stdout
    assert pem_chain.count("BEGIN CERTIFICATE") == 2


def test_offline_root_across_two_data_directories(tmp_path: Path) -> None:
    offline = Cli(tmp_path / "offline-root", passphrase="offline root passphrase")
    online = Cli(tmp_path / "online", passphrase="online passphrase, different")
    offline("init")
    online("init")
    offline(
        "ca",
        "create-root",
        "root",
        "--subject",
        "CN=Offline Root,O=Example",
        "--key-type",
        "ec-p384",
        "--path-length",
        "1",
    )
    offline("ca", "export", "root", "--out", str(tmp_path / "root.pem"))

    out = online(
        "ca",
        "create-intermediate",
        "issuing",
        "--subject",
        "CN=Online Issuing,O=Example",
        "--csr-out",
        str(tmp_path / "issuing.csr"),
    ).stdout
    assert "pending" in out
    refused = online("cert", "issue", "--ca", "issuing", "--csr", str(openssl_csr(tmp_path, "early")), check=False)
    assert refused.returncode == 4 and "pending" in refused.stderr

    offline(
        "ca",
        "sign-csr",
        "root",
        str(tmp_path / "issuing.csr"),
        "--profile",
        "sub-ca",
        "--out",
        str(tmp_path / "issuing.pem"),
    )
    online("ca", "import-certificate", "issuing", str(tmp_path / "issuing.pem"), "--chain", str(tmp_path / "root.pem"))

    csr = openssl_csr(tmp_path, "leaf")
    online("cert", "issue", "--ca", "issuing", "--csr", str(csr), "--out", str(tmp_path / "leaf.pem"))
    result = verify(tmp_path / "root.pem", tmp_path / "issuing.pem", tmp_path / "leaf.pem")
    assert result.returncode == 0, result.stderr
    # the online side never saw the root key; the offline side recorded the subordinate certificate
    assert "issuing" not in offline("ca", "list").stdout
    assert "sub-ca" in offline("cert", "list", "--ca", "root").stdout


def test_bulk_issuance_from_a_folder(cli: Cli, tmp_path: Path) -> None:
    cli.hierarchy()
    requests = tmp_path / "requests"
    requests.mkdir()
    for i in range(12):
        openssl_csr(requests, f"host{i}", cn=f"host{i}.example.com", san=f"DNS:host{i}.example.com")
    (requests / "broken.csr").write_text("not a csr")
    for key in requests.glob("*.key"):
        key.unlink()
    result = cli(
        "cert",
        "issue",
        "--ca",
        "issuing",
        "--profile",
        "tls-server",
        "--csr-dir",
        str(requests),
        "--out-dir",
        str(tmp_path / "issued"),
        check=False,
    )
    assert result.returncode == 2  # one failure
    assert "12 issued, 1 failed" in result.stdout
    assert "broken.csr" in result.stderr
    issued = sorted((tmp_path / "issued").glob("*.crt.pem"))
    assert len(issued) == 12
    assert len({serial_of(p) for p in issued}) == 12


def test_server_side_key_generation_and_pkcs12_export(cli: Cli, tmp_path: Path) -> None:
    cli.hierarchy()
    cli(
        "cert",
        "generate",
        "--ca",
        "issuing",
        "--subject",
        "CN=alice,O=Example",
        "--san",
        "email:alice@example.com",
        "--p12-out",
        str(tmp_path / "alice.p12"),
        "--password-stdin",
        stdin="alice's p12 password\n",
    )
    assert (tmp_path / "alice.p12").stat().st_mode & 0o777 == 0o600
    loaded = pkcs12.load_pkcs12((tmp_path / "alice.p12").read_bytes(), b"alice's p12 password")
    assert loaded.key is not None and loaded.cert is not None
    # openssl reads it too
    assert (
        openssl(
            "pkcs12", "-in", str(tmp_path / "alice.p12"), "-passin", "pass:alice's p12 password", "-nokeys"
        ).returncode
        == 0
    )
    serial = format(loaded.cert.certificate.serial_number, "x")
    cli(
        "cert",
        "export",
        serial,
        "--ca",
        "issuing",
        "--format",
        "p12",
        "--out",
        str(tmp_path / "again.p12"),
        "--password-stdin",
        stdin="another password\n",
    )
    again = pkcs12.load_pkcs12((tmp_path / "again.p12").read_bytes(), b"another password")
    assert again.key is not None and again.key.public_key() == loaded.key.public_key()
    renewed = cli("cert", "renew", serial, "--ca", "issuing").stdout
    assert load_certificates(renewed.encode())[0].public_key() == loaded.key.public_key()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ("ca", "create-root", "x", "--subject", "NOPE"), 2, "invalid distinguished name", id="fail/bad-subject"
        ),
        pytest.param(
            ("ca", "create-root", "x", "--subject", "CN=x", "--key-type", "rsa-1024"),
            2,
            "unknown key type",
            id="fail/key-type",
        ),
        pytest.param(("ca", "export", "missing"), 3, "no CA named", id="fail/unknown-ca"),
        pytest.param(("cert", "revoke", "zz", "--ca", "root"), 2, "invalid serial", id="fail/bad-serial"),
        pytest.param(
            ("cert", "revoke", "abcd", "--ca", "root", "--reason", "stolen"),
            2,
            "unknown revocation reason",
            id="fail/reason",
        ),
        pytest.param(("cert", "list", "--status", "weird"), 2, "unknown status", id="fail/status"),
    ],
)
def test_errors_have_messages_and_exit_codes(cli: Cli, args: tuple[str, ...], code: int, message: str) -> None:
    cli("init")
    cli("ca", "create-root", "root", "--subject", "CN=Root")
    result = cli(*args, check=False)
    assert result.returncode == code, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_not_initialised_and_wrong_passphrase(tmp_path: Path) -> None:
    fresh = Cli(tmp_path / "nothing")
    result = fresh("ca", "list", check=False)
    assert result.returncode == 7 and "chancery init" in result.stderr
    first = Cli(tmp_path / "data")
    first("init")
    wrong = Cli(tmp_path / "data", passphrase="wrong passphrase")
    result = wrong("ca", "create-root", "root", "--subject", "CN=Root", check=False)
    assert result.returncode == 6 and "wrong key store passphrase" in result.stderr
    assert "wrong passphrase" not in result.stderr  # the passphrase itself is never echoed


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    commands = (
        [("init",), ("serve",), ("demo",)]
        + [
            ("ca", c)
            for c in (
                "create-root",
                "create-intermediate",
                "sign-csr",
                "import-certificate",
                "import-trust-anchor",
                "retire",
                "list",
                "show",
                "csr",
                "export",
            )
        ]
        + [
            ("cert", c)
            for c in ("issue", "generate", "revoke", "release-hold", "renew", "rekey", "list", "show", "export")
        ]
        + [("profile", c) for c in ("list", "import", "export", "versions", "preview")]
        + [("user", c) for c in ("add", "list", "disable", "enable", "unlock", "passwd", "totp", "map-certificate")]
        + [("group", c) for c in ("add", "list", "add-member", "remove-member")]
        + [("role", c) for c in ("grant", "revoke", "list")]
        + [("token", c) for c in ("create", "list", "revoke")]
        + [("ldap", c) for c in ("configure", "show", "test")]
        + [("audit", c) for c in ("verify", "export", "list", "checkpoint")]
        + [("approval", c) for c in ("list", "approve", "reject")]
        + [("policy", c) for c in ("show", "set")]
        + [("emv", "ca", c) for c in ("create", "export", "list")]
        + [("emv", "issuer", c) for c in ("create", "certify", "import", "show", "list")]
        + [("emv", "icc", "issue"), ("emv", "verify")]
    )
    for command in commands:
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0 and "Example" in result.output, command
