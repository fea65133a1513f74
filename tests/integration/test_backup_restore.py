"""Encrypted backups restored by a custodian quorum, on SQLite and PostgreSQL.

A CA issues and revokes, is backed up 3-of-5, and is restored with custodians
1, 3 and 5 into a fresh data directory (SQLite) or a new PostgreSQL database;
the restored CA then issues and revokes: serials never repeat and CRL numbers
continue upward. Each fault of issue 6 is its own test, and none of them writes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.principals import Principal, Role
from chancery.domain.queries import AuditFilter, CertificateFilter, PageRequest
from chancery.domain.revocation import RevocationReason
from chancery.errors import (
    ApprovalRequired,
    Conflict,
    KeystoreUnavailable,
    Malformed,
    PermissionDenied,
    WrongPassphrase,
)
from chancery.services.approvals import APPROVALS_POLICY
from chancery.services.backup.creation import CreateBackup, CreatedBackup
from chancery.services.backup.restoration import RestoreBackup
from chancery.settings import load_settings
from tests.conftest import PASSPHRASE, POSTGRES_ADMIN_URL
from tests.integration.test_crls import issue, revoke

pytestmark = pytest.mark.integration
BOB = Principal("bob", frozenset({Role.ADMINISTRATOR}))
BOB_AUDITOR = Principal("audrey", frozenset({Role.AUDITOR}))


def custodian(i: int) -> bytes:
    return f"custodian number {i} passphrase".encode()


def make_backup(app: wiring.Application, admin: Principal, folder: Path, name: str = "ca.backup") -> CreatedBackup:
    return app.backups.create(admin, CreateBackup(folder / name, 5, 3, folder / f"{name}-shares"), custodian)


def restore(
    backup: CreatedBackup,
    target: Path,
    custodians: tuple[int, ...] = (1, 3, 5),
    clock: FixedClock | None = None,
    database_url: str | None = None,
    passphrase: bytes = PASSPHRASE,
    force: bool = False,
    who: Principal = BOB,
):
    shares = tuple(backup.shares[i - 1] for i in custodians)
    request = RestoreBackup(backup.path, target, shares, database_url, force)
    return wiring.backup_restorer(passphrase, clock=clock).restore(who, request, custodian)


@contextmanager
def new_postgres_database() -> Iterator[str]:
    """A new, empty database on the test server (CREATE DATABASE backup_restore_<random>), dropped after."""
    name = f"backup_restore_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def restore_url(app: wiring.Application) -> Iterator[str | None]:
    """Where the restore writes: SQLite in the new data directory, or a new PostgreSQL database."""
    if app.database.is_sqlite:
        yield None
        return
    with new_postgres_database() as url:
        yield url


@pytest.fixture
def other_kind_url(app: wiring.Application) -> Iterator[str | None]:
    """The other kind of database than the source's."""
    if not app.database.is_sqlite:
        yield None
        return
    with new_postgres_database() as url:
        yield url


def open_restored(target: Path, clock: FixedClock) -> wiring.Application:
    """The restored installation, configured only by what the restore wrote into ``target``."""
    return wiring.build(load_settings({}, data_dir=str(target), kdf_scrypt_n=2**14), PASSPHRASE, clock)


def certificates(app: wiring.Application, admin: Principal) -> dict[int, str]:
    page = app.certificates.search(admin, CertificateFilter(ca_name="issuing"), PageRequest(limit=500))
    return {r.serial.value: ("revoked" if r.revocation else r.state.value) for r in page.items}


def tables_in(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names()
    finally:
        engine.dispose()


def nothing_written(target: Path, url: str | None) -> bool:
    siblings = list(target.parent.glob(f".{target.name}.restoring-*"))
    return not target.exists() and not siblings and (url is None or tables_in(url) == [])


def test_restored_ca_continues_serials_and_crl_numbers(
    app: wiring.Application, admin: Principal, issuing, tmp_path: Path, clock: FixedClock, restore_url: str | None
) -> None:
    serials = issue(app, admin, 4)
    revoke(app, admin, serials[1], RevocationReason.keyCompromise)
    last_crl = app.crls.publish(admin, "issuing").delta.crl_number
    before = certificates(app, admin)
    backup = make_backup(app, admin, tmp_path)
    assert len(backup.sha256) == 64 and len(backup.shares) == 5

    target = tmp_path / "restored"
    restored = restore(backup, target, clock=clock, database_url=restore_url)
    assert restored.custodians == (1, 3, 5) and restored.target == target

    again = open_restored(target, clock)
    try:
        assert wiring.is_initialised(again)
        assert certificates(again, admin) == before  # every certificate, every revocation
        new = issue(again, admin, 3)  # the restored sealed keys sign
        assert not set(new) & set(before)
        revoke(again, admin, new[0], RevocationReason.superseded)
        published = again.crls.publish(admin, "issuing")
        assert last_crl < published.full.crl_number < published.delta.crl_number
        assert again.audit.verify(admin).intact
        (event,) = again.audit.search(admin, AuditFilter(action="backup.restored"), 10)
        assert event.details["custodians"] == [1, 3, 5]
        assert event.details["backup_sha256"] == backup.sha256
    finally:
        again.close()
    assert [e.action for e in app.audit.search(admin, AuditFilter(action="backup."), 10)] == ["backup.created"]


def test_restore_into_the_other_kind_of_database(
    app: wiring.Application, admin: Principal, issuing, tmp_path: Path, clock: FixedClock, other_kind_url: str | None
) -> None:
    """SQLite -> PostgreSQL and PostgreSQL -> SQLite: the rows are portable."""
    serials = issue(app, admin, 2)
    revoke(app, admin, serials[0], RevocationReason.cessationOfOperation)
    before = certificates(app, admin)
    backup = make_backup(app, admin, tmp_path)
    restore(backup, tmp_path / "restored", clock=clock, database_url=other_kind_url)
    again = open_restored(tmp_path / "restored", clock)
    try:
        assert again.database.is_sqlite is (other_kind_url is None)
        assert certificates(again, admin) == before
        assert not set(issue(again, admin, 2)) & set(before)
        assert again.audit.verify(admin).intact
    finally:
        again.close()


def test_backup_key_lives_in_the_key_store_and_is_reused(
    app: wiring.Application, admin: Principal, tmp_path: Path
) -> None:
    first = make_backup(app, admin, tmp_path, "one.backup")
    second = make_backup(app, admin, tmp_path, "two.backup")
    assert first.manifest.backup_id != second.manifest.backup_id
    assert "backup-key" in {k.key_id for k in second.manifest.database.software_keys}
    assert first.manifest.database.hsm_keys == ()


FLIPS = [
    pytest.param(lambda size: 40, id="fail/bit-in-header"),
    pytest.param(lambda size: size // 2, id="fail/bit-in-encrypted-chunk"),
    pytest.param(lambda size: size - 100, id="fail/bit-in-trailer"),
    pytest.param(lambda size: size - 9, id="fail/bit-in-end-marker"),
]


@pytest.mark.parametrize("where", FLIPS)
def test_one_flipped_bit_is_rejected_before_any_write(
    app: wiring.Application, admin: Principal, tmp_path: Path, restore_url: str | None, where
) -> None:
    backup = make_backup(app, admin, tmp_path)
    data = bytearray(backup.path.read_bytes())
    data[where(len(data))] ^= 0x10
    backup.path.write_bytes(bytes(data))
    target = tmp_path / "restored"
    with pytest.raises((Malformed, KeystoreUnavailable)):
        restore(backup, target, database_url=restore_url)
    assert nothing_written(target, restore_url)


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda size: size - 1, id="fail/last-byte"),
        pytest.param(lambda size: size // 2, id="fail/half"),
        pytest.param(lambda size: 30, id="fail/inside-header"),
    ],
)
def test_a_truncated_backup_is_rejected(app: wiring.Application, admin: Principal, tmp_path: Path, cut) -> None:
    backup = make_backup(app, admin, tmp_path)
    data = backup.path.read_bytes()
    backup.path.write_bytes(data[: cut(len(data))])
    with pytest.raises(Malformed, match="truncated"):
        restore(backup, tmp_path / "restored")
    assert nothing_written(tmp_path / "restored", None)


def test_threshold_minus_one_shares_do_not_restore(app: wiring.Application, admin: Principal, tmp_path: Path) -> None:
    backup = make_backup(app, admin, tmp_path)
    with pytest.raises(KeystoreUnavailable, match="needs the shares of 3 of its 5 custodians; 2 given"):
        restore(backup, tmp_path / "restored", custodians=(2, 4))
    assert nothing_written(tmp_path / "restored", None)


def test_a_share_from_another_backup_is_refused(app: wiring.Application, admin: Principal, tmp_path: Path) -> None:
    one = make_backup(app, admin, tmp_path, "one.backup")
    two = make_backup(app, admin, tmp_path, "two.backup")
    request = RestoreBackup(one.path, tmp_path / "restored", (one.shares[0], one.shares[1], two.shares[2]))
    with pytest.raises(Malformed, match=f"belongs to backup {two.manifest.backup_id}"):
        wiring.backup_restorer(PASSPHRASE).restore(BOB, request, custodian)
    # Relabelled to look like the first backup's, it no longer opens (its fields are authenticated).
    forged = tmp_path / "forged.share"
    forged.write_text(two.shares[2].read_text().replace(two.manifest.backup_id, one.manifest.backup_id))
    request = RestoreBackup(one.path, tmp_path / "restored", (one.shares[0], one.shares[1], forged))
    with pytest.raises(WrongPassphrase, match="custodian 3's share"):
        wiring.backup_restorer(PASSPHRASE).restore(BOB, request, custodian)
    assert nothing_written(tmp_path / "restored", None)


def test_a_wrong_custodian_passphrase_is_named(app: wiring.Application, admin: Principal, tmp_path: Path) -> None:
    backup = make_backup(app, admin, tmp_path)
    request = RestoreBackup(backup.path, tmp_path / "restored", backup.shares[:3])

    def wrong_for_two(i: int) -> bytes:
        return b"not the passphrase of 2" if i == 2 else custodian(i)

    with pytest.raises(WrongPassphrase, match="custodian 2's share .* wrong custodian passphrase"):
        wiring.backup_restorer(PASSPHRASE).restore(BOB, request, wrong_for_two)
    assert nothing_written(tmp_path / "restored", None)


def test_quorum_without_the_backup_key_fails(app: wiring.Application, admin: Principal, tmp_path: Path) -> None:
    """Layer two: all five custodians, but not the key store passphrase of the source."""
    backup = make_backup(app, admin, tmp_path)
    with pytest.raises(WrongPassphrase, match="the backup key does not open"):
        restore(backup, tmp_path / "restored", custodians=(1, 2, 3, 4, 5), passphrase=b"another installation pw")
    assert nothing_written(tmp_path / "restored", None)


def test_backup_key_without_quorum_fails(app: wiring.Application, admin: Principal, tmp_path: Path) -> None:
    """Layer one: the source's passphrase (so its backup key), but only two custodians,
    and then three custodians of whom one is guessed."""
    backup = make_backup(app, admin, tmp_path)
    with pytest.raises(KeystoreUnavailable, match="needs the shares of 3"):
        restore(backup, tmp_path / "restored", custodians=(1, 2))
    request = RestoreBackup(backup.path, tmp_path / "restored", backup.shares[:3])
    with pytest.raises(WrongPassphrase, match="custodian 3"):
        wiring.backup_restorer(PASSPHRASE).restore(BOB, request, lambda i: custodian(i) if i < 3 else b"guess guess!")
    assert nothing_written(tmp_path / "restored", None)


def test_a_non_empty_directory_is_refused(app: wiring.Application, admin: Principal, tmp_path: Path) -> None:
    backup = make_backup(app, admin, tmp_path)
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "notes.txt").write_text("someone's files")
    with pytest.raises(Conflict, match="is not empty"):
        restore(backup, target)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_an_empty_directory_is_filled(app: wiring.Application, admin: Principal, tmp_path: Path) -> None:
    backup = make_backup(app, admin, tmp_path)
    target = tmp_path / "empty"
    target.mkdir()
    restore(backup, target)
    assert (target / "chancery.db").exists() and target.stat().st_mode & 0o777 == 0o700


def test_a_non_empty_database_is_refused(
    app: wiring.Application, admin: Principal, tmp_path: Path, restore_url: str | None
) -> None:
    if restore_url is None:
        pytest.skip("a server database only")
    backup = make_backup(app, admin, tmp_path)
    restore(backup, tmp_path / "first", database_url=restore_url)
    with pytest.raises(Conflict, match="is not empty"):
        restore(backup, tmp_path / "second", database_url=restore_url)
    assert not (tmp_path / "second").exists()


def test_force_over_an_installation_needs_its_dual_control(
    app: wiring.Application, admin: Principal, issuing, tmp_path: Path, clock: FixedClock
) -> None:
    if not app.database.is_sqlite:
        pytest.skip("the directory swap is the same for a server database; SQLite keeps the test local")
    backup = make_backup(app, admin, tmp_path)
    issue(app, admin, 1)  # the installation moves on after the backup
    app.policies.set(admin, APPROVALS_POLICY, 1)
    target = app.settings.data_dir
    with pytest.raises(ApprovalRequired) as raised:
        restore(backup, target, force=True, clock=clock)
    (sub,) = raised.value.sub_errors
    app.dual_control.approve(Principal("carol", frozenset({Role.ADMINISTRATOR})), sub.detail)
    app.close()
    restored = restore(backup, target, force=True, clock=clock)
    assert restored.moved_aside is not None and (restored.moved_aside / "chancery.db").exists()
    again = open_restored(target, clock)
    try:
        assert len(certificates(again, admin)) == 0  # the certificate issued after the backup is gone
        assert again.dual_control.list(admin) == ()  # the permit was spent with the database holding it
    finally:
        again.close()


def test_create_refuses_bad_requests_and_writes_nothing(
    app: wiring.Application, admin: Principal, tmp_path: Path
) -> None:
    with pytest.raises(Malformed, match="threshold"):
        CreateBackup(tmp_path / "x.backup", 3, 4, tmp_path / "shares")
    (tmp_path / "taken.backup").write_text("an older backup")
    with pytest.raises(Conflict, match="exists"):
        app.backups.create(admin, CreateBackup(tmp_path / "taken.backup", 5, 3, tmp_path / "shares"), custodian)
    with pytest.raises(Malformed, match="custodian 4's passphrase is too short"):
        app.backups.create(
            admin,
            CreateBackup(tmp_path / "x.backup", 5, 3, tmp_path / "shares"),
            lambda i: b"short" if i == 4 else custodian(i),
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "taken.backup"]
    with pytest.raises(PermissionDenied):
        app.backups.create(BOB_AUDITOR, CreateBackup(tmp_path / "y.backup", 1, 1, tmp_path / "shares"), custodian)
