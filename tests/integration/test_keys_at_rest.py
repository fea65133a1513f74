"""DESIGN.md invariant 3: no private key in the clear in the data directory."""

import contextlib
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from chancery import wiring
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Principal
from chancery.domain.records import CertificateAuthorityRecord
from chancery.errors import WrongPassphrase
from chancery.services.authority.hierarchy import NewCA
from chancery.services.authority.issuance import IssueWithNewKey
from chancery.settings import Settings

pytestmark = pytest.mark.integration


def private_forms(key: object) -> list[bytes]:
    """Every way a leaked key could be spelled: PEM/DER in PKCS#8 and traditional form, raw scalar."""
    forms = []
    for encoding, fmt in [
        (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL),
        (serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL),
    ]:
        with contextlib.suppress(ValueError):  # Ed25519 has no traditional form
            forms.append(key.private_bytes(encoding, fmt, serialization.NoEncryption()))  # type: ignore[attr-defined]
    if hasattr(key, "private_numbers"):
        numbers = key.private_numbers()
        secret = getattr(numbers, "private_value", None) or numbers.d
        forms.append(secret.to_bytes((secret.bit_length() + 7) // 8, "big"))
    else:
        forms.append(
            key.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,  # type: ignore[attr-defined]
                serialization.NoEncryption(),
            )
        )
    return forms


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_private_key_in_the_data_directory(
    app: wiring.Application, admin: Principal, settings: Settings, issuing: CertificateAuthorityRecord
) -> None:
    app.hierarchy.create_root(admin, NewCA("rsa-root", "CN=RSA Root", KeyType.RSA_2048))
    app.hierarchy.create_root(admin, NewCA("ed-root", "CN=Ed Root", KeyType.ED25519))
    generated = app.issuance.issue_with_new_key(
        admin, IssueWithNewKey("issuing", "tls-client", "CN=ee", KeyType.EC_P256, "p12 password")
    )
    app.close()  # flush SQLite's WAL into the files we search
    data_dir = Path(settings.data_dir)
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name.startswith("chancery.db") for p in files)
    blob = b"".join(p.read_bytes() for p in files)
    assert b"PRIVATE KEY" not in blob
    grep = subprocess.run(["grep", "-r", "-l", "PRIVATE KEY", str(data_dir)], capture_output=True)
    assert grep.returncode == 1, grep.stdout  # grep found nothing

    reopened = wiring.build(settings, b"correct horse battery staple")
    try:
        key_ids = [r.key_id for r in reopened.hierarchy.list(admin)] + [generated.issued.record.key_id]
        for key_id in key_ids:
            private_key = reopened.keys.load(key_id)._private_key  # type: ignore[attr-defined]  # noqa: SLF001
            for form in private_forms(private_key):
                assert form not in blob, f"key {key_id} found in the clear"
    finally:
        reopened.close()


def test_wrong_passphrase_is_refused_clearly(
    settings: Settings, app: wiring.Application, root: CertificateAuthorityRecord
) -> None:
    wrong = wiring.build(settings, b"not the passphrase")
    try:
        with pytest.raises(WrongPassphrase, match="wrong key store passphrase"):
            wrong.keys.unlock()
        with pytest.raises(WrongPassphrase):
            wrong.keys.load(root.key_id)
    finally:
        wrong.close()
