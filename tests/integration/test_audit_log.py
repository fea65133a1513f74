"""The tamper-evident audit log against real databases: the chain real operations write, every way
of editing it behind Chancery's back, failing closed, who may read it, and its REST face.

Tampering is done the way an intruder with write access to the database would: plain SQL on
``audit_log``, ``audit_head`` and ``audit_checkpoints``, recomputing hashes with the (public)
algorithm where that helps them. Only the audit key's signature over a checkpoint stops the
last of these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, insert, select, text, update

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.audit import (
    GENESIS_HASH,
    AuditCheckpoint,
    AuditRecord,
    checkpoint_message,
    entry_hash,
    record_hash,
)
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Grant, Principal, Role
from chancery.domain.queries import AuditFilter
from chancery.domain.records import CertificateAuthorityRecord
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.errors import CAError, Forbidden, InternalError, Malformed
from chancery.services.audit.checkpoints import AUDIT_KEY_POLICY
from chancery.services.authority.hierarchy import NewCA
from chancery.services.authority.issuance import IssueFromCsr
from chancery.services.certificates import RevokeRequest
from chancery.settings import Settings
from chancery.store.tables import audit_checkpoints, audit_head, audit_log, authorities, certificates, revocation_events
from chancery.web.app import create_app
from tests.conftest import PASSPHRASE
from tests.support.csrs import make_csr

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"
AUDITOR = Principal("auditor-ann", frozenset({Role.AUDITOR}))


# -- helpers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trail:
    """What :func:`trail` did: three certificates issued a minute apart, the second one revoked."""

    serials: tuple[str, ...]
    revoked: str
    issued_at: tuple[dt.datetime, ...]
    revoked_at: dt.datetime


@pytest.fixture
def trail(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord, clock: FixedClock) -> Trail:
    serials, times = [], []
    for n in range(3):
        clock.advance(dt.timedelta(minutes=1))
        _, csr = make_csr(cn=f"host{n}.example.com", sans=(f"DNS:host{n}.example.com",))
        issued = app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-server", csr))
        serials.append(issued.record.serial.hex)
        times.append(clock.now())
    clock.advance(dt.timedelta(minutes=1))
    app.certificates.revoke(
        admin, RevokeRequest("issuing", SerialNumber.from_hex(serials[1]), RevocationReason.keyCompromise)
    )
    return Trail(tuple(serials), serials[1], tuple(times), clock.now())


def entries(app: wiring.Application) -> list[AuditRecord]:
    with app.database.read() as uow:
        return list(uow.audit.entries())


def head(app: wiring.Application) -> tuple[int, str]:
    with app.database.read() as uow:
        return uow.audit.head()


def execute(app: wiring.Application, *statements: Any) -> None:
    """Straight to the database, in one transaction, as someone with write access would."""
    with app.database.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement) if isinstance(statement, str) else statement)


def scalar(app: wiring.Application, statement: Any) -> Any:
    with app.database.engine.connect() as conn:
        return conn.execute(statement).scalar_one()


def issued_entry(app: wiring.Application, serial: str) -> AuditRecord:
    """The ``certificate.issued`` entry of ``serial``: in the middle of the log, with a CA and a target."""
    (record,) = [e for e in entries(app) if e.action == "certificate.issued" and e.target == serial]
    return record


def signed(app: wiring.Application) -> int:
    sequence = app.audit.checkpoint(AUDITOR)
    assert sequence == head(app)[0]
    return sequence


def rehash_from(app: wiring.Application, first: int, **changes: Any) -> None:
    """Apply ``changes`` to entry ``first`` and recompute every hash after it, and the head,
    exactly as Chancery would have: a forgery only a signed checkpoint can reveal."""
    records = entries(app)
    previous = next(r.entry_hash for r in records if r.sequence == first - 1) if first > 1 else GENESIS_HASH
    statements = []
    for record in (r for r in records if r.sequence >= first):
        fields = {
            "occurred_at": record.occurred_at,
            "action": record.action,
            "actor": record.actor,
            "outcome": record.outcome,
            "ca": record.ca,
            "target": record.target,
            "details": record.details_json,
        }
        if record.sequence == first:
            fields.update(changes)
        digest = entry_hash(
            record.sequence,
            fields["occurred_at"],
            fields["action"],
            fields["actor"],
            fields["outcome"],
            fields["ca"],
            fields["target"],
            fields["details"],
            previous,
        )
        statements.append(
            update(audit_log)
            .where(audit_log.c.sequence == record.sequence)
            .values(**fields, previous_hash=previous, entry_hash=digest)
        )
        previous = digest
    statements.append(update(audit_head).where(audit_head.c.id == 1).values(entry_hash=previous))
    execute(app, *statements)


# -- the chain real operations write ---------------------------------------------------------------


def test_operations_write_one_unbroken_chain(app: wiring.Application, trail: Trail) -> None:
    records = entries(app)
    assert [r.sequence for r in records] == list(range(1, len(records) + 1))
    assert records[0].previous_hash == GENESIS_HASH
    for before, after in pairwise(records):
        assert after.previous_hash == before.entry_hash
    assert all(record_hash(r) == r.entry_hash for r in records)
    assert len({r.entry_hash for r in records}) == len(records)
    assert head(app) == (records[-1].sequence, records[-1].entry_hash)

    actions = [(r.action, r.ca) for r in records]
    for ca in ("root", "issuing"):
        assert ("ca.created", ca) in actions and ("ca.activated", ca) in actions
    issued = {r.target: r for r in records if r.action == "certificate.issued" and r.ca == "issuing"}
    assert set(issued) == set(trail.serials)
    assert [issued[s].occurred_at for s in trail.serials] == list(trail.issued_at)
    assert issued[trail.serials[0]].actor == "cli:tester" and issued[trail.serials[0]].outcome == "success"
    assert issued[trail.serials[0]].details["profile"] == "tls-server"
    newest = records[-1]
    assert (newest.action, newest.ca, newest.target, newest.occurred_at) == (
        "certificate.revoked",
        "issuing",
        trail.revoked,
        trail.revoked_at,
    )
    assert newest.details["reason"] == "keyCompromise"

    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.entries, report.checkpoints, report.first_bad, report.problem) == (
        True,
        len(records),
        0,
        None,
        "",
    )
    assert (report.newest, report.newest_signed) == (len(records), 0)


def test_checkpoint_signs_the_head_with_the_audit_key(
    app: wiring.Application, admin: Principal, trail: Trail, clock: FixedClock
) -> None:
    newest, newest_hash = head(app)
    clock.advance(dt.timedelta(seconds=5))
    assert app.audit.checkpoint(AUDITOR) == newest
    assert app.audit.checkpoint(AUDITOR) == 0  # nothing new to sign

    with app.database.read() as uow:
        (checkpoint,) = uow.audit.checkpoints()
        key_id = uow.policies.get(AUDIT_KEY_POLICY)
    assert (checkpoint.sequence, checkpoint.entry_hash, checkpoint.signed_at, checkpoint.key_id) == (
        newest,
        newest_hash,
        clock.now(),
        key_id,
    )
    public_key = app.keys.load(checkpoint.key_id).public_key()
    assert isinstance(public_key, ed25519.Ed25519PublicKey)
    public_key.verify(checkpoint.signature, checkpoint_message(newest, newest_hash, clock.now()))

    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.entries, report.checkpoints, report.newest, report.newest_signed) == (
        True,
        newest,
        1,
        newest,
        newest,
    )

    # New entries are chained on, intact but not yet covered, until the next checkpoint.
    app.hierarchy.create_root(admin, NewCA("second", "CN=Second Root,O=Chancery Tests", KeyType.EC_P256))
    later = app.audit.verify(AUDITOR)
    assert later.intact and later.newest > newest and later.newest_signed == newest
    assert app.audit.checkpoint(AUDITOR) == later.newest
    final = app.audit.verify(AUDITOR)
    assert (final.intact, final.checkpoints, final.newest_signed) == (True, 2, later.newest)


def test_two_applications_on_one_database_chain_one_after_the_other(
    app: wiring.Application,
    settings: Settings,
    clock: FixedClock,
    admin: Principal,
    issuing: CertificateAuthorityRecord,
) -> None:
    """Two nodes (each with its own writer) issue at once: the head row serialises their
    appends, so no sequence is taken twice and the chain stays whole."""
    other = wiring.build(settings, PASSPHRASE, clock)
    start = head(app)[0]

    def issue_some(node: wiring.Application, worker: int) -> list[str]:
        serials = []
        for n in range(4):
            _, csr = make_csr(cn=f"n{worker}-{n}.example.com", sans=(f"DNS:n{worker}-{n}.example.com",))
            serials.append(
                node.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-server", csr)).record.serial.hex
            )
        return serials

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(issue_some, node, worker) for worker, node in enumerate([app, other, app, other])]
            issued = {serial for future in futures for serial in future.result()}
    finally:
        other.close()
    assert len(issued) == 16
    added = [r for r in entries(app) if r.sequence > start]
    assert [r.sequence for r in added] == list(range(start + 1, start + 17))
    assert {r.target for r in added} == issued
    report = app.audit.verify(AUDITOR)
    assert report.intact and report.entries == start + 16


# -- tampering -----------------------------------------------------------------------------------

EDITS: dict[str, Any] = {
    "action": "certificate.viewed",
    "actor": "mallory",
    "outcome": "failure",
    "ca": "root",
    "target": "00",
    "details": '{"profile":"tls-client"}',
    "occurred_at": lambda record: record.occurred_at + dt.timedelta(seconds=1),
    "entry_hash": "f" * 64,
    "previous_hash": "e" * 64,
}


@pytest.mark.parametrize("column", list(EDITS))
def test_editing_one_column_of_one_entry_is_found(app: wiring.Application, trail: Trail, column: str) -> None:
    victim = issued_entry(app, trail.serials[0])
    assert 1 < victim.sequence < head(app)[0]
    value = EDITS[column](victim) if callable(EDITS[column]) else EDITS[column]
    execute(app, update(audit_log).where(audit_log.c.sequence == victim.sequence).values({column: value}))

    report = app.audit.verify(AUDITOR)
    assert not report.intact
    assert report.first_bad == victim.sequence
    assert f"entry {victim.sequence} was altered" in report.problem


@pytest.mark.parametrize("column", ["ca", "target"])
def test_a_missing_value_and_an_empty_one_hash_differently(app: wiring.Application, trail: Trail, column: str) -> None:
    """NULL and '' are different records (a search for ca='' finds one and not the other)."""
    victim = next(e for e in entries(app) if getattr(e, column) is None and e.sequence > 1)
    execute(app, update(audit_log).where(audit_log.c.sequence == victim.sequence).values({column: ""}))
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, victim.sequence)


def test_text_cannot_be_moved_from_one_field_to_another(app: wiring.Application, trail: Trail) -> None:
    """Anyone may put control characters in the user name of a failed login; moving the text
    between the stored fields must not keep the hash (the fields are encoded unambiguously)."""
    with pytest.raises(CAError):
        app.authenticator.password_login("x\x1fsuccess", "wrong password")
    (failed,) = [e for e in entries(app) if e.action == "login.failed"]
    assert (failed.actor, failed.outcome, failed.target) == ("x\x1fsuccess", "failure", "x\x1fsuccess")
    # Re-cut the same characters: the entry would now say user "x" logged in successfully.
    forged = {"actor": "x", "outcome": "success", "ca": "failure\x1f\x1fx", "target": "success"}
    execute(app, update(audit_log).where(audit_log.c.sequence == failed.sequence).values(**forged))
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, failed.sequence)


def test_deleting_an_entry_names_it(app: wiring.Application, trail: Trail) -> None:
    victim = issued_entry(app, trail.serials[1])
    execute(app, delete(audit_log).where(audit_log.c.sequence == victim.sequence))
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, victim.sequence)
    assert report.problem == f"entry {victim.sequence} is missing (deleted)"
    assert report.entries == victim.sequence - 1  # the entries checked good before it


def test_deleting_several_entries_names_the_first(app: wiring.Application, trail: Trail) -> None:
    first = issued_entry(app, trail.serials[0]).sequence
    execute(app, delete(audit_log).where(audit_log.c.sequence.between(first, first + 2)))
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, first)
    assert report.problem == f"entries {first}-{first + 2} are missing (deleted)"


def test_deleting_the_first_entry_is_found(app: wiring.Application, trail: Trail) -> None:
    execute(app, delete(audit_log).where(audit_log.c.sequence == 1))
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, 1)


@pytest.mark.parametrize("checkpointed", [False, True], ids=["unsigned", "signed"])
def test_cutting_off_the_newest_entries_is_found(app: wiring.Application, trail: Trail, checkpointed: bool) -> None:
    newest = signed(app) if checkpointed else head(app)[0]
    execute(app, delete(audit_log).where(audit_log.c.sequence > newest - 2))
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, newest - 1)
    assert report.problem == f"entries {newest - 1}-{newest} are missing (deleted from the end)"


def test_cutting_off_the_end_and_rewriting_the_head_is_found_by_the_checkpoint(
    app: wiring.Application, trail: Trail
) -> None:
    newest = signed(app)
    keep = entries(app)[newest - 3]  # entry newest - 2
    execute(
        app,
        delete(audit_log).where(audit_log.c.sequence > keep.sequence),
        update(audit_head).where(audit_head.c.id == 1).values(sequence=keep.sequence, entry_hash=keep.entry_hash),
    )
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, newest)
    assert report.problem == f"entry {newest}, covered by a signed checkpoint, is missing"


def test_a_head_that_disagrees_with_the_log_is_found(app: wiring.Application, trail: Trail) -> None:
    newest = head(app)[0]
    execute(app, update(audit_head).where(audit_head.c.id == 1).values(entry_hash="a" * 64))
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, newest)
    assert "recorded head" in report.problem


def test_entries_added_behind_chancerys_back_are_found(app: wiring.Application, trail: Trail) -> None:
    last = entries(app)[-1]
    at = last.occurred_at
    sequence = last.sequence + 1
    digest = entry_hash(sequence, at, "certificate.revoked", "mallory", "success", None, None, "{}", last.entry_hash)
    row = {
        "sequence": sequence,
        "occurred_at": at,
        "action": "certificate.revoked",
        "actor": "mallory",
        "outcome": "success",
        "details": "{}",
        "previous_hash": last.entry_hash,
        "entry_hash": digest,
    }
    execute(app, insert(audit_log).values(**row))
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, sequence)
    assert "added outside Chancery" in report.problem


def _newest_checkpoint(app: wiring.Application) -> AuditCheckpoint:
    with app.database.read() as uow:
        checkpoint = uow.audit.latest_checkpoint()
    assert checkpoint is not None
    return checkpoint


def _flipped_bit(app: wiring.Application, checkpoint: AuditCheckpoint) -> dict[str, Any]:
    signature = bytearray(checkpoint.signature)
    signature[10] ^= 0x01
    return {"signature": bytes(signature)}


def _signed_by_another_key(app: wiring.Application, checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {"signature": ed25519.Ed25519PrivateKey.generate().sign(checkpoint.message())}


def _a_ca_key(app: wiring.Application, checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {"key_id": scalar(app, select(authorities.c.key_id).where(authorities.c.name == "root"))}


FORGERIES = [
    pytest.param(_flipped_bit, "does not verify", id="flipped-signature-bit"),
    pytest.param(lambda app, c: {"signature": b"\x00" * 64}, "does not verify", id="zeroed-signature"),
    pytest.param(lambda app, c: {"signature": b""}, "does not verify", id="empty-signature"),
    pytest.param(_signed_by_another_key, "does not verify", id="signed-by-another-key"),
    pytest.param(
        lambda app, c: {"signed_at": c.signed_at - dt.timedelta(days=1)}, "does not verify", id="signed-at-earlier"
    ),
    pytest.param(lambda app, c: {"entry_hash": "a" * 64}, "differs from what the checkpoint signed", id="entry-hash"),
    pytest.param(_a_ca_key, "not the audit key", id="a-ca-key"),
    pytest.param(lambda app, c: {"key_id": "audit-000000000000000000000000"}, "cannot be used", id="unknown-key"),
]


@pytest.mark.parametrize(("forge", "problem"), FORGERIES)
def test_an_altered_checkpoint_is_found(app: wiring.Application, trail: Trail, forge: Any, problem: str) -> None:
    newest = signed(app)
    values = forge(app, _newest_checkpoint(app))
    execute(app, update(audit_checkpoints).where(audit_checkpoints.c.sequence == newest).values(**values))
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, newest)
    assert problem in report.problem


def test_a_checkpoint_moved_to_another_entry_is_found(app: wiring.Application, trail: Trail) -> None:
    newest = signed(app)
    execute(app, update(audit_checkpoints).where(audit_checkpoints.c.sequence == newest).values(sequence=newest - 1))
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, newest - 1)


def test_a_checkpoint_forged_for_a_rewritten_log_is_found(app: wiring.Application, trail: Trail) -> None:
    """The intruder rewrites an entry, recomputes the chain and adds their own checkpoint for it."""
    newest = signed(app)
    victim = issued_entry(app, trail.serials[2]).sequence
    rehash_from(app, victim, actor="mallory")
    new_head = head(app)[1]
    forger = ed25519.Ed25519PrivateKey.generate()
    with app.database.read() as uow:
        key_id = uow.policies.get(AUDIT_KEY_POLICY)
    at = dt.datetime.now(dt.timezone.utc)
    execute(
        app,
        update(audit_checkpoints)
        .where(audit_checkpoints.c.sequence == newest)
        .values(
            entry_hash=new_head,
            signed_at=at,
            signature=forger.sign(checkpoint_message(newest, new_head, at)),
            key_id=key_id,
        ),
    )
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, newest)
    assert "does not verify" in report.problem


def test_a_rewritten_and_rehashed_log_is_found_by_the_checkpoint_covering_it(
    app: wiring.Application, trail: Trail
) -> None:
    newest = signed(app)
    victim = issued_entry(app, trail.serials[0]).sequence
    rehash_from(app, victim, actor="mallory", details='{"profile":"tls-client"}')
    assert issued_entry(app, trail.serials[0]).actor == "mallory"
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, newest)
    assert f"entry {newest} differs from what the checkpoint signed" in report.problem


def test_a_deleted_entry_hidden_by_renumbering_is_found_by_the_checkpoint(
    app: wiring.Application, trail: Trail
) -> None:
    """The intruder deletes an entry, shifts the later ones down to close the gap and
    recomputes their hashes: the signed newest entry is then missing."""
    newest = signed(app)
    victim = issued_entry(app, trail.serials[1]).sequence
    statements: list[Any] = [delete(audit_log).where(audit_log.c.sequence == victim)]
    statements += [
        update(audit_log).where(audit_log.c.sequence == sequence).values(sequence=sequence - 1)
        for sequence in range(victim + 1, newest + 1)
    ]
    statements.append(update(audit_head).where(audit_head.c.id == 1).values(sequence=newest - 1))
    execute(app, *statements)
    rehash_from(app, victim)
    assert [r.sequence for r in entries(app)] == list(range(1, newest))
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad) == (False, newest)
    assert report.problem == f"entry {newest}, covered by a signed checkpoint, is missing"


def test_the_first_checkpoint_after_a_rehashed_edit_catches_it(
    app: wiring.Application, admin: Principal, trail: Trail
) -> None:
    first = signed(app)
    app.hierarchy.create_root(admin, NewCA("second", "CN=Second Root,O=Chancery Tests", KeyType.EC_P256))
    second = signed(app)
    victim = issued_entry(app, trail.serials[1]).sequence
    assert victim < first < second
    rehash_from(app, victim, outcome="failure")
    report = app.audit.verify(AUDITOR)
    assert (report.intact, report.first_bad, report.checkpoints) == (False, first, 2)


def test_a_rehashed_edit_after_the_newest_checkpoint_goes_unseen_until_signed(
    app: wiring.Application, admin: Principal, trail: Trail
) -> None:
    """The forger above is exact: without a checkpoint covering the edit the chain alone cannot
    tell. The report says how far the signed part goes, so that it can be judged."""
    covered = signed(app)
    app.hierarchy.create_root(admin, NewCA("second", "CN=Second Root,O=Chancery Tests", KeyType.EC_P256))
    victim = covered + 1
    rehash_from(app, victim, actor="mallory")
    report = app.audit.verify(AUDITOR)
    assert report.intact and report.newest_signed == covered < victim <= report.newest


# -- failing closed ------------------------------------------------------------------------------


@contextmanager
def audit_refuses_writes(app: wiring.Application) -> Iterator[None]:
    """A trigger that makes every insert into ``audit_log`` fail (dropped afterwards: the
    PostgreSQL database is shared by the whole session)."""
    if app.database.is_sqlite:
        execute(
            app,
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
        )
        try:
            yield
        finally:
            execute(app, "DROP TRIGGER IF EXISTS refuse_audit")
        return
    execute(
        app,
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit refused'; END $$",
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
    )
    try:
        yield
    finally:
        execute(app, "DROP TRIGGER IF EXISTS refuse_audit ON audit_log", "DROP FUNCTION IF EXISTS refuse_audit()")


@contextmanager
def audit_head_missing(app: wiring.Application) -> Iterator[None]:
    newest, newest_hash = head(app)
    execute(app, delete(audit_head))
    try:
        yield
    finally:
        execute(app, insert(audit_head).values(id=1, sequence=newest, entry_hash=newest_hash))


BREAKAGES = [pytest.param(audit_refuses_writes, id="insert-refused"), pytest.param(audit_head_missing, id="no-head")]


def _issued_count(app: wiring.Application) -> int:
    return int(scalar(app, select(func.count()).select_from(certificates).where(certificates.c.der.is_not(None))))


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_issuance_fails_when_it_cannot_be_audited(
    app: wiring.Application, admin: Principal, trail: Trail, breakage: Any
) -> None:
    before, issued = entries(app), _issued_count(app)
    _, csr = make_csr(cn="unaudited.example.com", sans=("DNS:unaudited.example.com",))
    with breakage(app), pytest.raises(InternalError):
        app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-server", csr))
    assert _issued_count(app) == issued
    unaudited = certificates.c.subject.contains("unaudited")
    assert (
        scalar(app, select(func.count()).select_from(certificates).where(unaudited, certificates.c.state == "issued"))
        == 0
    )
    assert entries(app) == before
    assert app.audit.verify(AUDITOR).intact


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_revocation_fails_when_it_cannot_be_audited(
    app: wiring.Application, admin: Principal, trail: Trail, breakage: Any
) -> None:
    serial = SerialNumber.from_hex(trail.serials[0])
    events = scalar(app, select(func.count()).select_from(revocation_events))
    before = entries(app)
    with breakage(app), pytest.raises(InternalError):
        app.certificates.revoke(admin, RevokeRequest("issuing", serial, RevocationReason.keyCompromise))
    assert app.certificates.get(admin, "issuing", serial).revocation is None
    assert scalar(app, select(func.count()).select_from(revocation_events)) == events
    assert entries(app) == before
    # Once the log takes entries again, so does revocation.
    app.certificates.revoke(admin, RevokeRequest("issuing", serial, RevocationReason.keyCompromise))
    assert entries(app)[-1].target == serial.hex
    assert app.audit.verify(AUDITOR).intact


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_creating_a_ca_fails_when_it_cannot_be_audited(
    app: wiring.Application, admin: Principal, trail: Trail, breakage: Any
) -> None:
    before = entries(app)
    with breakage(app), pytest.raises(CAError):
        app.hierarchy.create_root(admin, NewCA("unaudited", "CN=Unaudited Root,O=Chancery Tests", KeyType.EC_P256))
    assert scalar(app, select(func.count()).select_from(authorities).where(authorities.c.name == "unaudited")) == 0
    assert entries(app) == before


# -- who may read it; searching --------------------------------------------------------------------

READERS = [
    pytest.param(AUDITOR, id="auditor"),
    pytest.param(Principal("grant-holder", grants=frozenset({Grant(Role.AUDITOR)})), id="auditor-grant"),
    pytest.param(Principal("boss", frozenset({Role.ADMINISTRATOR})), id="administrator"),
]
NOT_READERS = [
    pytest.param(Principal("rita", frozenset({Role.REQUESTER})), id="requester"),
    pytest.param(Principal("olga", frozenset({Role.CA_OPERATOR})), id="ca-operator"),
    pytest.param(Principal("otto", frozenset({Role.RA_OFFICER})), id="ra-officer"),
    pytest.param(Principal("carl", grants=frozenset({Grant(Role.AUDITOR, ca="issuing")})), id="auditor-of-one-ca"),
    pytest.param(Principal("nobody"), id="no-roles"),
]


@pytest.mark.parametrize("reader", READERS)
def test_auditors_search_export_and_verify(app: wiring.Application, trail: Trail, reader: Principal) -> None:
    everything = entries(app)
    assert app.audit.search(reader, AuditFilter(), 1000) == everything[::-1]
    assert list(app.audit.export(reader)) == everything
    assert app.audit.verify(reader).intact
    assert app.audit.checkpoint(reader) == everything[-1].sequence


@pytest.mark.parametrize("outsider", NOT_READERS)
def test_others_may_not_read_the_log(app: wiring.Application, trail: Trail, outsider: Principal) -> None:
    with pytest.raises(Forbidden):
        app.audit.search(outsider, AuditFilter(), 10)
    with pytest.raises(Forbidden):
        app.audit.export(outsider)  # refused at the call, before any entry is read
    with pytest.raises(Forbidden):
        app.audit.verify(outsider)
    with pytest.raises(Forbidden):
        app.audit.checkpoint(outsider)
    with app.database.read() as uow:
        assert uow.audit.checkpoints() == []


def test_search_filters(app: wiring.Application, trail: Trail) -> None:
    def search(**query: Any) -> list[AuditRecord]:
        return app.audit.search(AUDITOR, AuditFilter(**query), 1000)

    everything = entries(app)
    certificate_events = search(action="certificate.")
    assert certificate_events and all(r.action.startswith("certificate.") for r in certificate_events)
    assert certificate_events == [r for r in everything[::-1] if r.action.startswith("certificate.")]
    (revoked,) = search(action="certificate.revoked")
    assert revoked.target == trail.revoked
    assert search(action="certificate_issued") == []  # LIKE wildcards are plain characters
    assert search(action="%") == []
    assert search(action="certificate.issued.more") == []

    assert {r.actor for r in search(actor="cli:tester")} == {"cli:tester"}
    assert search(actor="cli:") == []  # actor matches exactly
    setup = search(actor="cli:setup")
    assert setup and len(setup) + len(search(actor="cli:tester")) == len(everything)

    on_issuing = search(ca="issuing")
    assert {r.ca for r in on_issuing} == {"issuing"}
    assert set(trail.serials) <= {r.target for r in on_issuing}
    assert [r.action for r in search(target=trail.revoked)] == ["certificate.revoked", "certificate.issued"]
    assert [r.target for r in search(ca="issuing", action="certificate.issued")] == list(trail.serials[::-1])

    # since is inclusive, until exclusive.
    assert [r.target for r in search(action="certificate.", since=trail.issued_at[1])] == [
        trail.revoked,
        trail.serials[2],
        trail.serials[1],
    ]
    assert [
        r.target for r in search(action="certificate.issued", since=trail.issued_at[0], until=trail.issued_at[2])
    ] == [
        trail.serials[1],
        trail.serials[0],
    ]
    assert search(since=trail.revoked_at + dt.timedelta(microseconds=1)) == []
    # Any time zone means the same instant.
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert search(since=trail.revoked_at.astimezone(plus_two)) == search(since=trail.revoked_at)


def test_search_pages_backwards_with_before(app: wiring.Application, trail: Trail) -> None:
    newest = head(app)[0]
    pages: list[list[int]] = []
    before = None
    while True:
        page = app.audit.search(AUDITOR, AuditFilter(before=before), 7)
        if not page:
            break
        pages.append([r.sequence for r in page])
        before = page[-1].sequence
    assert [s for page in pages for s in page] == list(range(newest, 0, -1))
    assert all(len(page) == 7 for page in pages[:-1])

    filtered = app.audit.search(AUDITOR, AuditFilter(action="certificate.", before=newest), 2)
    assert [r.action for r in filtered] == ["certificate.issued", "certificate.issued"]
    assert [r.target for r in filtered] == [trail.serials[2], trail.serials[1]]
    assert app.audit.search(AUDITOR, AuditFilter(before=1), 10) == []


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_search_limits(app: wiring.Application, limit: int) -> None:
    with pytest.raises(Malformed):
        app.audit.search(AUDITOR, AuditFilter(), limit)


# -- REST ----------------------------------------------------------------------------------------


@pytest.fixture
def client(app: wiring.Application, trail: Trail) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as http:
        yield http


def bearer(app: wiring.Application, admin: Principal, role: Role) -> dict[str, str]:
    token = app.tokens.create(admin, f"audit-tests-{role.value}", frozenset({role})).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auditor(app: wiring.Application, admin: Principal) -> dict[str, str]:
    return bearer(app, admin, Role.AUDITOR)


def test_rest_search_with_filters(
    app: wiring.Application, client: TestClient, auditor: dict[str, str], trail: Trail
) -> None:
    response = client.get("/api/v1/audit", headers=auditor)
    assert response.status_code == 200, response.text
    body = response.json()
    everything = entries(app)
    assert [e["sequence"] for e in body["entries"]] == [r.sequence for r in everything[::-1]]
    assert body["next_before"] is None
    newest = body["entries"][0]
    assert set(newest) == {
        "sequence",
        "occurred_at",
        "action",
        "actor",
        "outcome",
        "ca",
        "target",
        "details",
        "previous_hash",
        "entry_hash",
    }
    # The auditor's token: its creation and (at most every few minutes) its use are audited too.
    assert [e["action"] for e in body["entries"][:2]] == ["token.used", "token.created"]
    assert (newest["actor"], newest["details"]) == ("token:audit-tests-auditor", {"name": "audit-tests-auditor"})
    revoked = next(e for e in body["entries"] if e["action"] == "certificate.revoked")
    assert (revoked["ca"], revoked["target"], revoked["outcome"], revoked["actor"]) == (
        "issuing",
        trail.revoked,
        "success",
        "cli:tester",
    )
    assert revoked["details"]["reason"] == "keyCompromise"
    assert dt.datetime.fromisoformat(revoked["occurred_at"]) == trail.revoked_at
    record = next(r for r in everything if r.sequence == revoked["sequence"])
    assert (revoked["entry_hash"], revoked["previous_hash"]) == (record.entry_hash, record.previous_hash)

    def targets(**params: Any) -> list[str]:
        answer = client.get("/api/v1/audit", params=params, headers=auditor)
        assert answer.status_code == 200, answer.text
        return [e["target"] for e in answer.json()["entries"]]

    assert targets(action="certificate.revoked") == [trail.revoked]
    assert targets(action="certificate.issued", ca="issuing") == list(trail.serials[::-1])
    assert targets(target=trail.serials[0]) == [trail.serials[0]]
    assert targets(actor="nobody") == []
    assert targets(action="certificate.", since=trail.issued_at[2].isoformat()) == [trail.revoked, trail.serials[2]]
    assert targets(action="certificate.", until=trail.issued_at[1].isoformat(), ca="issuing") == [trail.serials[0]]
    zulu = trail.issued_at[2].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert targets(action="certificate.", since=zulu) == [trail.revoked, trail.serials[2]]


def test_rest_pages_with_before(app: wiring.Application, client: TestClient, auditor: dict[str, str]) -> None:
    seen: list[int] = []
    before: int | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5} if before is None else {"limit": 5, "before": before}
        body = client.get("/api/v1/audit", params=params, headers=auditor).json()
        pages += 1
        seen += [e["sequence"] for e in body["entries"]]
        if body["next_before"] is None:
            break
        assert body["next_before"] == body["entries"][-1]["sequence"]
        before = body["next_before"]
    newest = head(app)[0]
    assert seen == list(range(newest, 0, -1))
    assert pages == -(-newest // 5)

    page = client.get("/api/v1/audit", params={"action": "certificate.", "limit": 2}, headers=auditor).json()
    assert len(page["entries"]) == 2 and page["next_before"] == page["entries"][1]["sequence"]


def test_rest_verification(app: wiring.Application, client: TestClient, auditor: dict[str, str], trail: Trail) -> None:
    report = client.get("/api/v1/audit/verification", headers=auditor)
    assert report.status_code == 200, report.text
    newest = head(app)[0]
    assert report.json() == {
        "intact": True,
        "entries": newest,
        "checkpoints": 0,
        "first_bad": None,
        "problem": "",
        "newest": newest,
        "newest_signed": 0,
    }
    victim = issued_entry(app, trail.serials[1]).sequence
    execute(app, update(audit_log).where(audit_log.c.sequence == victim).values(actor="mallory"))
    damaged = client.get("/api/v1/audit/verification", headers=auditor).json()
    assert (damaged["intact"], damaged["first_bad"]) == (False, victim)
    assert f"entry {victim} was altered" in damaged["problem"]


BAD_PARAMETERS = [
    pytest.param({"before": "abc"}, id="before-not-a-number"),
    pytest.param({"before": "0"}, id="before-zero"),
    pytest.param({"before": "-5"}, id="before-negative"),
    pytest.param({"limit": "0"}, id="limit-zero"),
    pytest.param({"limit": "100000"}, id="limit-huge"),
    pytest.param({"limit": "ten"}, id="limit-not-a-number"),
    pytest.param({"since": "garbage"}, id="since-garbage"),
    pytest.param({"until": "2024-13-45"}, id="until-impossible-date"),
    pytest.param({"actor": "a" * 129}, id="actor-overlong"),
    pytest.param({"target": "t" * 129}, id="target-overlong"),
    pytest.param({"action": "x" * 65}, id="action-overlong"),
    pytest.param({"ca": "c" * 65}, id="ca-overlong"),
    pytest.param({"since": "2024-01-01T00:00:00"}, id="since-without-time-zone"),
]


@pytest.mark.parametrize("params", BAD_PARAMETERS)
def test_rest_refuses_malformed_queries(client: TestClient, auditor: dict[str, str], params: dict[str, str]) -> None:
    response = client.get("/api/v1/audit", params=params, headers=auditor)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["type"]) == (400, "urn:chancery:problem:malformed")
    assert body["detail"]


@pytest.mark.parametrize("path", ["/api/v1/audit", "/api/v1/audit/verification"])
def test_rest_needs_an_auditor(
    app: wiring.Application, admin: Principal, client: TestClient, auditor: dict[str, str], path: str
) -> None:
    anonymous = client.get(path)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == PROBLEM
    assert "Bearer" in anonymous.headers["www-authenticate"]
    assert client.get(path, headers={"Authorization": "Bearer chy_0000000000000000_" + "A" * 43}).status_code == 401
    for role in (Role.REQUESTER, Role.CA_OPERATOR):
        refused = client.get(path, headers=bearer(app, admin, role))
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"] == "urn:chancery:problem:forbidden"
    assert client.get(path, headers=bearer(app, admin, Role.ADMINISTRATOR)).status_code == 200
    assert client.get(path, headers=auditor).status_code == 200
