"""Backups of CAs whose keys are in a PKCS#11 token (SoftHSM2): the keys are listed, never copied,
and a restore checks the token holds them before it puts the restored installation in place."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.keystores import cka_id_of
from chancery.domain.principals import Principal
from chancery.errors import KeystoreUnavailable
from tests.integration.test_backup_restore import make_backup, nothing_written, restore
from tests.integration.test_pkcs11_ca import ROOT
from tests.support.softhsm import SoftHsm, pkcs11_config, process_softhsm

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    return process_softhsm(tmp_path_factory)


def test_hsm_keys_are_listed_not_copied_and_checked_on_restore(
    app: wiring.Application, admin: Principal, softhsm: SoftHsm, tmp_path: Path, clock: FixedClock
) -> None:
    app.key_stores.configure_pkcs11(admin, pkcs11_config(softhsm))
    root = app.hierarchy.create_root(admin, ROOT)
    assert root.certificate is not None
    spki = (
        x509.load_der_x509_certificate(root.certificate)
        .public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    backup = make_backup(app, admin, tmp_path)

    (expected,) = backup.manifest.database.hsm_keys
    assert (expected.ca, expected.key_id) == ("root", root.key_id)
    assert expected.label and expected.public_key_sha256 == hashlib.sha256(spki).hexdigest()
    assert root.key_id not in {k.key_id for k in backup.manifest.database.software_keys}
    assert softhsm.pin.encode() not in backup.path.read_bytes()

    restored = restore(backup, tmp_path / "restored", clock=clock)
    assert restored.notes == (f"HSM key {root.key_id} of CA root: present, public key matches",)

    cka_id = cka_id_of(root.key_id).hex()
    for kind in ("privkey", "pubkey"):
        softhsm.tool("--delete-object", "--type", kind, "--id", cka_id)
    with pytest.raises(KeystoreUnavailable, match=f"{root.key_id} of CA root"):
        restore(backup, tmp_path / "again", clock=clock)
    assert nothing_written(tmp_path / "again", None)
