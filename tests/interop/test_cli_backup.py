"""`chancery backup` as operators run it: create, verify in three depths, restore 3 of 5, kill -9."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509

from chancery import wiring
from chancery.domain.principals import local_operator
from chancery.settings import load_settings
from tests.interop.conftest import CHANCERY, Cli, openssl_csr
from tests.support.bulk_certificates import add_certificates

pytestmark = pytest.mark.interop
CUSTODIANS = {f"CHANCERY_CUSTODIAN_PASSPHRASE_{i}": f"custodian {i} says open sesame" for i in range(1, 6)}
PASSPHRASE = "interop test passphrase"


def backup_cli(data_dir: Path, **env: str) -> Cli:
    return Cli(data_dir, PASSPHRASE, **CUSTODIANS, **env)


def shares(folder: Path, *custodians: int) -> list[str]:
    return [arg for i in custodians for arg in ("--share", str(folder / f"ca.backup.custodian-{i}.share"))]


def issue_and_revoke(cli: Cli, tmp_path: Path, name: str) -> int:
    cli.issue(openssl_csr(tmp_path, name, cn=f"{name}.example.com", san=f"DNS:{name}.example.com"), tmp_path / name)
    serial = x509.load_pem_x509_certificate((tmp_path / name).read_bytes()).serial_number
    cli("cert", "revoke", format(serial, "x"), "--ca", "issuing", "--reason", "keyCompromise")
    return serial


def crl_number(cli: Cli) -> int:
    return int(re.search(r"CRL (\d+) of issuing", cli("crl", "generate", "--ca", "issuing").stdout).group(1))  # type: ignore[union-attr]


def test_create_verify_restore_and_continue(tmp_path: Path) -> None:
    source = backup_cli(tmp_path / "data")
    source.hierarchy()
    revoked = issue_and_revoke(source, tmp_path, "before")
    before = crl_number(source)

    out = source("backup", "create", "--out", str(tmp_path / "ca.backup"), "--custodians", "5", "--threshold", "3",
                 "--share-dir", str(tmp_path / "shares"))  # fmt: skip
    (sha256,) = re.findall(r"^([0-9a-f]{64})  ", out.stdout, re.MULTILINE)
    assert sorted(p.name for p in (tmp_path / "shares").iterdir()) == [
        f"ca.backup.custodian-{i}.share" for i in range(1, 6)
    ]
    assert PASSPHRASE not in out.stdout + out.stderr and "open sesame" not in out.stdout + out.stderr

    bare = Cli(tmp_path / "elsewhere", "")  # no secrets at all
    bare.env.pop("CHANCERY_KEY_PASSPHRASE")
    report = bare("backup", "verify", str(tmp_path / "ca.backup")).stdout
    assert sha256 in report and "structure and digests: ok" in report
    assert "authenticity: not checked" in report and "contents: not checked" in report
    report = source("backup", "verify", str(tmp_path / "ca.backup")).stdout
    assert "authenticity: ok" in report and "contents: not checked" in report
    report = source("backup", "verify", str(tmp_path / "ca.backup"), *shares(tmp_path / "shares", 2, 4, 5)).stdout
    assert "contents: ok" in report and "custodians 2, 4, 5" in report

    restored_dir = tmp_path / "restored"
    source("backup", "restore", str(tmp_path / "ca.backup"), "--to", str(restored_dir),
           *shares(tmp_path / "shares", 1, 3, 5))  # fmt: skip
    restored = backup_cli(restored_dir)
    assert format(revoked, "x") in restored("cert", "list", "--status", "revoked").stdout
    new = issue_and_revoke(restored, tmp_path, "after")
    assert new != revoked
    assert crl_number(restored) > before


def test_a_flipped_bit_and_too_few_custodians_fail_with_clear_errors(tmp_path: Path) -> None:
    source = backup_cli(tmp_path / "data")
    source.hierarchy()
    source("backup", "create", "--out", str(tmp_path / "ca.backup"), "--custodians", "5", "--threshold", "3",
           "--share-dir", str(tmp_path / "shares"))  # fmt: skip
    few = source("backup", "restore", str(tmp_path / "ca.backup"), "--to", str(tmp_path / "r"),
                 *shares(tmp_path / "shares", 1, 2), check=False)  # fmt: skip
    assert few.returncode == 6 and "needs the shares of 3 of its 5 custodians; 2 given" in few.stderr
    no_passphrase = Cli(tmp_path / "data", "", **CUSTODIANS)
    no_passphrase.env.pop("CHANCERY_KEY_PASSPHRASE")
    refused = no_passphrase("backup", "restore", str(tmp_path / "ca.backup"), "--to", str(tmp_path / "r"),
                            *shares(tmp_path / "shares", 1, 2, 3), check=False)  # fmt: skip
    assert refused.returncode == 6 and "passphrase" in refused.stderr

    data = bytearray((tmp_path / "ca.backup").read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / "ca.backup").write_bytes(bytes(data))
    for command in (["verify", str(tmp_path / "ca.backup")],
                    ["restore", str(tmp_path / "ca.backup"), "--to", str(tmp_path / "r"),
                     *shares(tmp_path / "shares", 1, 2, 3)]):  # fmt: skip
        damaged = source("backup", *command, check=False)
        assert damaged.returncode == 2 and "the backup is damaged" in damaged.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_kill_9_during_restore_leaves_the_target_absent_or_complete(tmp_path: Path) -> None:
    source = backup_cli(tmp_path / "data")
    source.hierarchy()
    settings = load_settings({}, data_dir=str(tmp_path / "data"), kdf_scrypt_n=2**14)
    app = wiring.build(settings, PASSPHRASE.encode())
    try:
        add_certificates(app, local_operator("bulk"), "issuing", 40_000)  # ~ 50 MB: a restore takes a while
    finally:
        app.close()
    source("backup", "create", "--out", str(tmp_path / "ca.backup"), "--custodians", "5", "--threshold", "3",
           "--share-dir", str(tmp_path / "shares"))  # fmt: skip
    target = tmp_path / "restored"
    command = [CHANCERY, "backup", "restore", str(tmp_path / "ca.backup"), "--to", str(target),
               *shares(tmp_path / "shares", 1, 2, 3)]  # fmt: skip

    process = subprocess.Popen(command, env=source.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    caught = _kill_while_writing(process, target)
    assert caught, "the restore finished before it could be killed while writing"
    assert not target.exists(), "a restore killed while writing left a target behind"
    assert list(tmp_path.glob(".restored.restoring-*")), "the half-written work went somewhere else"

    subprocess.run(command, env=source.env, check=True, capture_output=True, timeout=600)
    assert not list(tmp_path.glob(".restored.restoring-*"))  # the next restore cleared the leftovers
    listing = backup_cli(target)("cert", "list", "--ca", "issuing", "--limit", "5").stdout
    assert "bulk-" in listing


def _kill_while_writing(process: subprocess.Popen[bytes], target: Path) -> bool:
    """SIGKILL ``process`` once its temporary directory holds part of the database; True if it did."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        for workdir in target.parent.glob(f".{target.name}.restoring-*"):
            database = workdir / "chancery.db"
            if database.exists() and database.stat().st_size > 0:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return True
        time.sleep(0.001)  # polling another process's progress: there is nothing to wait on
    process.wait()
    return False
