"""``chancery backup verify``: check a backup without restoring it, as deeply as the secrets at hand allow.

1. No secret: the framing, the end marker, and the SHA-256 digests the trailer
   records for the header and the encrypted data. Damage and truncation show;
   deliberate tampering (a forger can recompute unkeyed digests) does not,
   unless you compare the file's SHA-256 with the one ``backup create`` printed.
2. The backup key (the key store passphrase of the installation that made the
   backup): the trailer's MAC, which vouches for every byte of the file.
3. A quorum of custodian shares: every chunk decrypted and authenticated and
   every part checked against the manifest, exactly as a restore's first pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chancery.domain.backups import Progress, QuietProgress
from chancery.services.backup.manifest import Manifest
from chancery.services.backup.ports import BackupKeyOpener
from chancery.services.backup.reading import OpenedBackup, load_shares


@dataclass(frozen=True)
class Check:
    what: str
    passed: bool | None  # None: not checked
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    path: Path
    sha256: str
    size: int
    manifest: Manifest
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class VerifyBackup:
    path: Path
    shares: tuple[Path, ...] = ()
    open_backup_key: BackupKeyOpener | None = None  # None: no key store passphrase at hand


class BackupVerifier:
    def verify(
        self,
        request: VerifyBackup,
        passphrase: Callable[[int], bytes] | None = None,
        progress: Progress | None = None,
    ) -> VerifyReport:
        """Raise :class:`~chancery.services.backup.container.BackupDamaged` (or a key error) at the first failure."""
        backup = OpenedBackup.open(request.path)
        checks = [
            Check(
                "structure and digests",
                True,
                f"{len(backup.layout.chunks)} encrypted chunks, end marker present, SHA-256 digests of header and "
                "encrypted data match the trailer (shows damage and truncation, not deliberate tampering)",
            )
        ]
        checks += _keyed_checks(backup, request.shares, request.open_backup_key, passphrase, progress)
        layout = backup.layout
        return VerifyReport(request.path, layout.file_sha256, layout.size, backup.manifest, tuple(checks))


def _keyed_checks(
    backup: OpenedBackup,
    shares: Sequence[Path],
    open_backup_key: BackupKeyOpener | None,
    passphrase: Callable[[int], bytes] | None,
    progress: Progress | None,
) -> list[Check]:
    if open_backup_key is None:
        return [
            Check("authenticity", None, "needs the key store passphrase of the installation that made the backup "
                  "(CHANCERY_KEY_PASSPHRASE): it opens the backup key that MACs the trailer"),
            Check("contents", None, "decrypting needs a quorum of custodians: pass --share"),
        ]  # fmt: skip
    backup_key = open_backup_key(backup.sealed_backup_key)
    backup.authenticate(backup_key)
    checks = [Check("authenticity", True, "the trailer's MAC under the backup key vouches for every byte of the file")]
    if not shares or passphrase is None:
        checks.append(Check("contents", None, "decrypting needs a quorum of custodians: pass --share"))
        return checks
    opened = load_shares(shares, backup)
    keys = backup.payload_keys(opened, passphrase, backup_key)
    backup.replay(keys, lambda part, block: None, progress or QuietProgress())
    parts = len(backup.manifest.parts)
    custodians = ", ".join(str(s.custodian) for s in opened)
    checks.append(
        Check(
            "contents",
            True,
            f"custodians {custodians} rebuilt the data key; every chunk decrypted and authenticated; "
            f"all {parts} parts match the manifest",
        )
    )
    return checks
