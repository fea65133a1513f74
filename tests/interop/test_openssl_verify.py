"""`openssl verify` accepts what Chancery issues, for every key type, over REST and over the CLI."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chancery import wiring
from chancery.domain.exports import ExportFormat
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Principal, Role
from chancery.services.authority.hierarchy import NewCA
from chancery.web.app import create_app
from tests.interop.conftest import Cli, openssl, openssl_csr, verify

pytestmark = pytest.mark.interop
KEY_TYPES = [k.value for k in KeyType]


def leaf_profile(key_type: str) -> str:
    """tls-server follows the CA/Browser Forum, which allows no Ed25519 keys; tls-client does."""
    return "tls-client" if key_type == "ed25519" else "tls-server"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_rest_issued_leaf_verifies(app: wiring.Application, admin: Principal, tmp_path: Path, key_type: str) -> None:
    kt = KeyType(key_type)
    app.hierarchy.create_root(admin, NewCA("root", f"CN=Root {key_type},O=Interop", kt))
    app.hierarchy.create_intermediate(admin, NewCA("issuing", f"CN=Issuing {key_type},O=Interop", kt, parent="root"))
    (tmp_path / "root.pem").write_bytes(app.hierarchy.export(admin, "root", ExportFormat.PEM))
    (tmp_path / "issuing.pem").write_bytes(app.hierarchy.export(admin, "issuing", ExportFormat.PEM))
    csr = openssl_csr(tmp_path, "leaf", key_type)
    token = app.tokens.create(admin, "interop", frozenset({Role.ADMINISTRATOR})).token
    with TestClient(create_app(app)) as client:
        response = client.post(
            "/api/v1/cas/issuing/certificates",
            json={"csr": csr.read_text(), "profile": leaf_profile(key_type)},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 201, response.text
    (tmp_path / "leaf.pem").write_text(response.json()["certificate"])
    result = verify(tmp_path / "root.pem", tmp_path / "issuing.pem", tmp_path / "leaf.pem")
    assert result.returncode == 0 and "leaf.pem: OK" in result.stdout, result.stderr
    # the chain in the response is enough to verify too
    (tmp_path / "chain.pem").write_text("".join(response.json()["chain"][:-1]))
    assert verify(tmp_path / "root.pem", tmp_path / "chain.pem", tmp_path / "leaf.pem").returncode == 0
    # and the certificate really belongs to the openssl-made key
    modulus_cert = openssl("x509", "-in", str(tmp_path / "leaf.pem"), "-noout", "-pubkey").stdout
    modulus_key = openssl("pkey", "-in", str(tmp_path / "leaf.key"), "-pubout").stdout
    assert modulus_cert == modulus_key


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_cli_issued_leaf_verifies(cli: Cli, tmp_path: Path, key_type: str) -> None:
    cli.hierarchy(key_type)
    cli("ca", "export", "root", "--out", str(tmp_path / "root.pem"))
    cli("ca", "export", "issuing", "--out", str(tmp_path / "issuing.pem"))
    cli.issue(openssl_csr(tmp_path, "leaf", key_type), tmp_path / "leaf.pem", leaf_profile(key_type))
    result = verify(tmp_path / "root.pem", tmp_path / "issuing.pem", tmp_path / "leaf.pem")
    assert result.returncode == 0 and "leaf.pem: OK" in result.stdout, result.stderr
    algorithm = {"rsa": "rsaEncryption", "ec": "id-ecPublicKey", "ed25519": "ED25519"}[key_type.split("-")[0]]
    assert (
        f"Public Key Algorithm: {algorithm}"
        in openssl("x509", "-in", str(tmp_path / "issuing.pem"), "-noout", "-text").stdout
    )
