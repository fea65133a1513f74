"""A backup of an installation whose key store requires a custodian quorum (`keys require-quorum`):
its backup key is sealed under the quorum's secret, so a restore needs M key custodians, not the
old passphrase; the restored installation opens under the same quorum."""

from __future__ import annotations

from pathlib import Path

import pytest

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.principals import Principal
from chancery.errors import KeystoreUnavailable
from chancery.services.backup.restoration import RestoreBackup
from chancery.settings import load_settings
from tests.integration.test_backup_restore import BOB, certificates, custodian, make_backup
from tests.integration.test_crls import issue
from tests.integration.test_key_quorum import PASSPHRASES, given, require_two_of_three

pytestmark = pytest.mark.integration


def test_restore_needs_the_key_custodians_of_a_quorum_store(
    app: wiring.Application, admin: Principal, issuing, tmp_path: Path, clock: FixedClock
) -> None:
    make_backup(app, admin, tmp_path, "before.backup")  # the backup key exists before the re-keying
    for name, passphrase in PASSPHRASES.items():
        app.custodians.enrol(admin, name, passphrase)
    require_two_of_three(app, admin)
    issue(app, admin, 2)
    before = certificates(app, admin)
    backup = make_backup(app, admin, tmp_path)
    request = RestoreBackup(backup.path, tmp_path / "restored", backup.shares[:3])

    with pytest.raises(KeystoreUnavailable, match="2 of its 3 custodians"):
        wiring.backup_restorer(b"the old passphrase opens nothing", given("alice")).restore(BOB, request, custodian)
    assert not (tmp_path / "restored").exists()
    restored = wiring.backup_restorer(b"", given("alice", "carol"), clock=clock).restore(BOB, request, custodian)
    assert restored.custodians == (1, 2, 3)

    settings = load_settings({}, data_dir=str(tmp_path / "restored"), kdf_scrypt_n=2**14)
    again = wiring.build(settings, b"", clock, custodians=given("bob", "carol"))
    try:
        assert certificates(again, admin) == before
        assert not set(issue(again, admin, 1)) & set(before)  # its sealed keys open under the quorum
    finally:
        again.close()
