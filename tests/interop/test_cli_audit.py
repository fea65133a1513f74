"""``chancery audit ...`` as an operator runs it, against a data directory someone edited with sqlite3."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from itertools import pairwise
from pathlib import Path

import pytest
from cryptography import x509

from chancery.domain.audit import GENESIS_HASH
from tests.interop.conftest import Cli, openssl_csr

pytestmark = pytest.mark.interop
FIELDS = {
    "sequence",
    "occurred_at",
    "action",
    "outcome",
    "actor",
    "ca",
    "target",
    "details",
    "previous_hash",
    "entry_hash",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with a root, an issuing CA, a certificate issued and one revoked (built once)."""
    work = tmp_path_factory.mktemp("audit-template")
    cli = Cli(work / "data")
    cli.hierarchy()
    serials = []
    for name in ("www", "mail"):
        csr = openssl_csr(work, name, cn=f"{name}.example.com", san=f"DNS:{name}.example.com")
        cli.issue(csr, work / f"{name}.pem")
        serials.append(format(x509.load_pem_x509_certificate((work / f"{name}.pem").read_bytes()).serial_number, "x"))
    cli("cert", "revoke", serials[1], "--ca", "issuing", "--reason", "keyCompromise")
    (work / "serials").write_text("\n".join(serials))
    return work


@pytest.fixture
def cli(template: Path, tmp_path: Path) -> Cli:
    shutil.copytree(template / "data", tmp_path / "data")
    shutil.copy(template / "serials", tmp_path / "serials")
    return Cli(tmp_path / "data")


@pytest.fixture
def db(cli: Cli, tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """The data directory's database, opened with Python's sqlite3 as an intruder would."""
    with closing(sqlite3.connect(tmp_path / "data" / "chancery.db", isolation_level=None)) as conn:
        yield conn


def serials(tmp_path: Path) -> list[str]:
    return (tmp_path / "serials").read_text().split()


def sequence_of(db: sqlite3.Connection, action: str, target: str) -> int:
    (row,) = db.execute("SELECT sequence FROM audit_log WHERE action = ? AND target = ?", (action, target)).fetchall()
    return int(row[0])


def newest(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT max(sequence) FROM audit_log").fetchone()[0])


def damaged_at(cli: Cli) -> tuple[int, str]:
    """Run ``chancery audit verify`` on a damaged log: the entry it names, and why."""
    result = cli("audit", "verify", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "intact" not in result.stdout
    found = re.search(r"audit log damaged at entry (\d+): (.*)", " ".join(result.stderr.split()))
    assert found, result.stderr
    return int(found.group(1)), found.group(2)


def test_verify_an_intact_log(cli: Cli, db: sqlite3.Connection) -> None:
    count = newest(db)
    result = cli("audit", "verify")
    assert result.returncode == 0
    assert f"audit log intact: {count} entries, 0 signed checkpoints; the newest {count} not yet covered" in (
        " ".join(result.stdout.split())
    )
    assert cli("audit", "checkpoint").stdout.strip() == f"checkpoint signed at entry {count}"
    assert cli("audit", "checkpoint").stdout.strip() == "nothing new to sign"
    signed = " ".join(cli("audit", "verify").stdout.split())
    assert f"audit log intact: {count} entries, 1 signed checkpoints" in signed and "not yet covered" not in signed


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor", "mallory"), ("outcome", "failure"), ("details", '{"profile":"tls-client"}'), ("ca", None)],
)
def test_verify_names_an_edited_entry(
    cli: Cli, db: sqlite3.Connection, tmp_path: Path, column: str, value: str | None
) -> None:
    sequence = sequence_of(db, "certificate.issued", serials(tmp_path)[0])
    assert 1 < sequence < newest(db)
    (original,) = db.execute(f"SELECT {column} FROM audit_log WHERE sequence = ?", (sequence,)).fetchone()  # noqa: S608
    db.execute(f"UPDATE audit_log SET {column} = ? WHERE sequence = ?", (value, sequence))  # noqa: S608
    bad, problem = damaged_at(cli)
    assert bad == sequence
    assert f"entry {sequence} was altered" in problem
    # Putting the value back makes the log whole again.
    db.execute(f"UPDATE audit_log SET {column} = ? WHERE sequence = ?", (original, sequence))  # noqa: S608
    assert cli("audit", "verify").returncode == 0


def test_verify_names_a_deleted_entry(cli: Cli, db: sqlite3.Connection, tmp_path: Path) -> None:
    sequence = sequence_of(db, "certificate.issued", serials(tmp_path)[1])
    assert 1 < sequence < newest(db)
    db.execute("DELETE FROM audit_log WHERE sequence = ?", (sequence,))
    bad, problem = damaged_at(cli)
    assert bad == sequence
    assert problem == f"entry {sequence} is missing (deleted)"


def test_verify_names_entries_cut_off_the_end_behind_a_checkpoint(cli: Cli, db: sqlite3.Connection) -> None:
    cli("audit", "checkpoint")
    last = newest(db)
    kept = db.execute("SELECT entry_hash FROM audit_log WHERE sequence = ?", (last - 1,)).fetchone()[0]
    db.execute("DELETE FROM audit_log WHERE sequence = ?", (last,))
    db.execute("UPDATE audit_head SET sequence = ?, entry_hash = ?", (last - 1, kept))
    bad, problem = damaged_at(cli)
    assert bad == last
    assert problem == f"entry {last}, covered by a signed checkpoint, is missing"


def test_export_to_a_file_and_to_stdout(cli: Cli, db: sqlite3.Connection, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    result = cli("audit", "export", "--out", str(out))
    lines = out.read_text(encoding="utf-8").splitlines()
    count = newest(db)
    assert len(lines) == count
    assert f"{count} entries written to" in result.stdout
    exported = [json.loads(line) for line in lines]
    assert all(set(entry) == FIELDS for entry in exported)
    assert [e["sequence"] for e in exported] == list(range(1, count + 1))
    assert exported[0]["previous_hash"] == GENESIS_HASH
    assert all(after["previous_hash"] == before["entry_hash"] for before, after in pairwise(exported))
    stored = db.execute("SELECT sequence, entry_hash FROM audit_log ORDER BY sequence").fetchall()
    assert [(e["sequence"], e["entry_hash"]) for e in exported] == stored

    www, mail = serials(tmp_path)
    revoked = exported[-1]
    assert (revoked["action"], revoked["outcome"], revoked["ca"], revoked["target"]) == (
        "certificate.revoked",
        "success",
        "issuing",
        mail,
    )
    assert revoked["details"]["reason"] == "keyCompromise" and isinstance(revoked["details"], dict)
    assert revoked["actor"].startswith("cli:")
    issued = next(e for e in exported if e["action"] == "certificate.issued" and e["target"] == www)
    assert issued["details"]["profile"] == "tls-server"
    assert issued["occurred_at"].endswith("+00:00")
    assert any(e["action"] == "ca.created" and e["ca"] == "root" and e["target"] is None for e in exported)

    # Without --out: the same lines on standard output, and nothing else there.
    assert cli("audit", "export").stdout.splitlines() == lines


def test_list_shows_the_newest_entries_filtered(cli: Cli, db: sqlite3.Connection, tmp_path: Path) -> None:
    www, mail = serials(tmp_path)
    listing = cli("audit", "list", "--action", "certificate.", "--ca", "issuing").stdout
    assert www in listing and mail in listing and "certificate.revoked" in listing
    assert "ca.created" not in listing
    assert listing.index("certificate.revoked") < listing.index("certificate.issued")  # newest first
    one = cli("audit", "list", "--limit", "1").stdout
    assert "certificate.revoked" in one and "certificate.issued" not in one
    refused = cli("audit", "list", "--limit", "0", check=False)
    assert refused.returncode != 0 and "limit" in refused.stderr
