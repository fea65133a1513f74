"""M-of-N activation of the software key store: the store's secret split among custodians."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.audit import AuditEvent
from chancery.domain.principals import Principal
from chancery.domain.queries import AuditFilter
from chancery.domain.records import CertificateAuthorityRecord
from chancery.errors import Conflict, KeystoreUnavailable, Malformed, Unauthorized, WrongPassphrase
from chancery.keys.quorum import CustodianSource, QuorumChange
from chancery.keys.sealing import Sealer
from chancery.settings import Settings
from chancery.store.quorum import SqlQuorumVault, sealed_columns
from chancery.store.sealed_keys import SqlSealedKeyVault
from chancery.store.tables import metadata
from tests.conftest import PASSPHRASE

pytestmark = pytest.mark.integration

PASSPHRASES = {
    "alice": "first custodian's passphrase",
    "bob": "a rather long passphrase",
    "carol": "she keeps hers in a safe",
    "dave": "joins the second split later",
}


def given(*names: str, **wrong: str) -> CustodianSource:
    """A custodian source answering for ``names`` (``wrong`` overrides a passphrase)."""

    def source(holders: tuple[str, ...], threshold: int) -> dict[str, bytes]:
        return {name: (wrong.get(name) or PASSPHRASES[name]).encode() for name in names if name in holders}

    return source


@pytest.fixture
def enrolled(app: wiring.Application, admin: Principal) -> Iterator[wiring.Application]:
    for name, passphrase in PASSPHRASES.items():
        app.custodians.enrol(admin, name, passphrase)
    yield app


def reopen(settings: Settings, clock: FixedClock, source: CustodianSource) -> wiring.Application:
    """Another process on the same database: it has the old passphrase, and these custodians."""
    return wiring.build(settings, PASSPHRASE, clock, custodians=source)


def require_two_of_three(app: wiring.Application, admin: Principal) -> None:
    names = ("alice", "bob", "carol")
    app.key_quorum.require(admin, names, 2, {name: PASSPHRASES[name] for name in names})


def totp_secret(uri: str) -> bytes:
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def test_the_quorum_opens_the_store_and_every_key_and_secret_survives_rekeying(
    enrolled: wiring.Application,
    admin: Principal,
    settings: Settings,
    clock: FixedClock,
    root: CertificateAuthorityRecord,
) -> None:
    enrolled.accounts.add_user(admin, "operator1", "operator one's password")
    totp = totp_secret(enrolled.accounts.enrol_totp(admin, "operator1").uri)
    require_two_of_three(enrolled, admin)
    assert enrolled.key_quorum.status(admin).custodians == ("alice", "bob", "carol")
    enrolled.keys.load(root.key_id)  # the running process keeps working

    for pair in (("alice", "bob"), ("bob", "carol"), ("alice", "carol")):
        opened = reopen(settings, clock, given(*pair))
        try:
            opened.keys.unlock()
            signature = opened.keys.load(root.key_id).sign(b"data", hashes.SHA384())
            root_key = x509.load_der_x509_certificate(root.certificate or b"").public_key()
            root_key.verify(signature, b"data", ec.ECDSA(hashes.SHA384()))  # type: ignore[call-arg, union-attr]
            user = opened.accounts.get_user(admin, "operator1")
            assert opened.keys.open_secret("totp:operator1", user.totp_sealed or "") == totp
            assert opened.keys.load(opened.audit_checkpoints.ensure_key()).sign(b"checkpoint", None)
        finally:
            opened.close()


@pytest.mark.parametrize(
    ("source", "error", "message"),
    [
        pytest.param(given("alice"), KeystoreUnavailable, "2 of its 3 custodians", id="fail/one-of-two"),
        pytest.param(given(), KeystoreUnavailable, "0 given", id="fail/none"),
        pytest.param(given("alice", "bob", bob="not the right passphrase"), WrongPassphrase, "bob", id="fail/wrong"),
        pytest.param(given("dave", "alice"), KeystoreUnavailable, "1 given", id="fail/not-a-holder"),
    ],
)
def test_without_the_quorum_the_store_stays_shut(
    enrolled: wiring.Application,
    admin: Principal,
    settings: Settings,
    clock: FixedClock,
    root: CertificateAuthorityRecord,
    source: CustodianSource,
    error: type[Exception],
    message: str,
) -> None:
    require_two_of_three(enrolled, admin)
    opened = reopen(settings, clock, source)
    try:
        with pytest.raises(error, match=message):
            opened.keys.load(root.key_id)
    finally:
        opened.close()


def test_the_old_passphrase_opens_nothing_after_rekeying(
    enrolled: wiring.Application, admin: Principal, clock: FixedClock
) -> None:
    check = SqlSealedKeyVault(enrolled.database, clock).get_check()
    Sealer(PASSPHRASE).verify_check(check or "")
    require_two_of_three(enrolled, admin)
    with pytest.raises(WrongPassphrase):
        Sealer(PASSPHRASE).verify_check(SqlSealedKeyVault(enrolled.database, clock).get_check() or "")


def test_resplitting_among_other_custodians(
    enrolled: wiring.Application,
    admin: Principal,
    settings: Settings,
    clock: FixedClock,
    root: CertificateAuthorityRecord,
) -> None:
    require_two_of_three(enrolled, admin)
    second = reopen(settings, clock, given("alice", "carol"))
    try:
        names = ("bob", "dave")
        second.key_quorum.require(admin, names, 2, {name: PASSPHRASES[name] for name in names})
    finally:
        second.close()
    for source, opens in ((given("bob", "dave"), True), (given("alice", "carol"), False)):
        opened = reopen(settings, clock, source)
        try:
            if opens:
                opened.keys.load(root.key_id)
            else:
                with pytest.raises(KeystoreUnavailable):
                    opened.keys.load(root.key_id)
        finally:
            opened.close()


def test_splitting_needs_every_custodian_and_their_right_passphrase(
    enrolled: wiring.Application, admin: Principal, settings: Settings, clock: FixedClock
) -> None:
    names = ("alice", "bob", "carol")
    with pytest.raises(Unauthorized, match="3 of the custodians"):
        enrolled.key_quorum.require(admin, names, 2, {"alice": PASSPHRASES["alice"], "bob": PASSPHRASES["bob"]})
    wrong = {**{name: PASSPHRASES[name] for name in names}, "carol": "forgot what it was"}
    with pytest.raises(Unauthorized, match="carol's passphrase is wrong"):
        enrolled.key_quorum.require(admin, names, 2, wrong)
    assert enrolled.key_quorum.status(admin) is None
    opened = reopen(settings, clock, given())  # still the passphrase
    try:
        opened.keys.unlock()
    finally:
        opened.close()


def test_a_share_holder_cannot_be_removed(enrolled: wiring.Application, admin: Principal) -> None:
    require_two_of_three(enrolled, admin)
    with pytest.raises(Conflict, match="holds a share"):
        enrolled.custodians.remove(admin, "alice")
    enrolled.custodians.remove(admin, "dave")
    audited = enrolled.audit.search(admin, AuditFilter(action="keystore.quorum-required"))
    assert [record.details["custodians"] for record in audited] == [["alice", "bob", "carol"]]


def test_rekeying_finds_every_sealed_column() -> None:
    """A blob sealed under the store's secret lives in sealed_keys.blob or a column named *_sealed;
    a column that breaks the convention would keep blobs the new secret cannot open."""
    found = {(table.name, column.name) for table, column in sealed_columns()}
    assert {
        ("sealed_keys", "blob"),
        ("users", "totp_sealed"),
        ("ldap_settings", "bind_password_sealed"),
        ("webhook_subscriptions", "secret_sealed"),
        ("smtp_settings", "password_sealed"),
    } <= found
    misnamed = [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if "seal" in column.name and (table.name, column.name) not in found
    ]
    assert misnamed == []


@pytest.mark.parametrize(
    ("name", "passphrase", "error", "message"),
    [
        pytest.param("alice", "another good passphrase", Conflict, "already enrolled", id="fail/twice"),
        pytest.param("erin", "short", Malformed, "at least 12 characters", id="fail/weak"),
        pytest.param("erin", "erin's own passphrase", Malformed, "may not contain the user name", id="fail/own-name"),
        pytest.param("Erin-1", "a good passphrase here", Malformed, "invalid custodian name", id="fail/name"),
    ],
)
def test_enrolment_is_refused_clearly(
    enrolled: wiring.Application, admin: Principal, name: str, passphrase: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        enrolled.custodians.enrol(admin, name, passphrase)
    records, quorum = enrolled.custodians.list(admin)
    assert [record.name for record in records] == sorted(PASSPHRASES) and quorum is None
    assert len(enrolled.audit.search(admin, AuditFilter(action="custodian.enrolled"))) == len(PASSPHRASES)


def test_rekeying_refuses_when_a_blob_changed_meanwhile(
    enrolled: wiring.Application, admin: Principal, clock: FixedClock
) -> None:
    """A key sealed by another node between reading and writing would be lost: nothing is written."""
    vault = SqlQuorumVault(enrolled.database, clock)
    check, originals = vault.current_check() or "", vault.sealed_blobs()
    enrolled.accounts.add_user(admin, "tardy", "a user who came after")
    enrolled.accounts.enrol_totp(admin, "tardy")  # a new sealed TOTP seed
    event = AuditEvent("keystore.quorum-required", admin.name)
    with pytest.raises(Conflict, match="added, changed or removed while re-keying"):
        vault.install(QuorumChange(check, "new check", originals, originals, ()), event, clock.now())
    assert vault.current_check() == check and vault.shares() == ()
    assert enrolled.audit.search(admin, AuditFilter(action="keystore.")) == []
