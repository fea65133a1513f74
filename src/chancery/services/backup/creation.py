"""``chancery backup create``: one encrypted file and one share file per custodian.

The file is written under a temporary name and renamed into place once it and
every share file are on disk, so a crash never leaves a backup whose key is lost.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.backups import Progress, QuietProgress
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.errors import Conflict, Malformed
from chancery.keys.shamir import MAX_SHARES, split
from chancery.services.authorization import require
from chancery.services.backup import files
from chancery.services.backup.container import CHUNK_SIZE, FORMAT, BackupWriter, PayloadKeys, canonical
from chancery.services.backup.custodians import ShareSpec, check_new_passphrase, passphrase_from, seal_share
from chancery.services.backup.manifest import Manifest
from chancery.services.backup.parts import PartEncoder
from chancery.services.backup.ports import BackupKeyHandle, BackupKeyring, DatabaseSnapshots
from chancery.services.backup.reading import TRAILER_FORMAT
from chancery.services.ports import DurableWriter


@dataclass(frozen=True)
class CreateBackup:
    out: Path
    custodians: int
    threshold: int
    share_dir: Path

    def __post_init__(self) -> None:
        if not 1 <= self.threshold <= self.custodians <= MAX_SHARES:
            raise Malformed("need 1 <= --threshold <= --custodians <= 255")

    def share_path(self, custodian: int) -> Path:
        return self.share_dir / f"{self.out.name}.custodian-{custodian}.share"


@dataclass(frozen=True)
class CreatedBackup:
    path: Path
    sha256: str
    shares: tuple[Path, ...]
    manifest: Manifest


@dataclass(frozen=True)
class _Job:
    """One backup being written (the data key lives only as long as this)."""

    request: CreateBackup
    principal: Principal
    backup_key: BackupKeyHandle
    data_key: bytes = field(repr=False)
    backup_id: str
    created_at: dt.datetime
    partial: Path  # the file is written here, then renamed to request.out


@dataclass(frozen=True)
class BackupSource:
    """The installation being backed up: its database and its data directory."""

    snapshots: DatabaseSnapshots
    keyring: BackupKeyring
    data_dir: Path
    version: str
    scrypt_n: int


class BackupCreator:
    def __init__(self, source: BackupSource, writer: DurableWriter, clock: Clock) -> None:
        self._source = source
        self._writer = writer
        self._clock = clock

    def create(
        self,
        principal: Principal,
        request: CreateBackup,
        passphrase: Callable[[int], bytes],
        progress: Progress | None = None,
    ) -> CreatedBackup:
        """Write the backup and its share files; the custodians' passphrases are asked for first."""
        require(principal, Permission.KEY_EXPORT)  # a backup holds every sealed key: administrators only
        progress = progress or QuietProgress()
        _refuse_existing(request)
        passphrases = {
            i: check_new_passphrase(i, passphrase_from(passphrase, i)) for i in range(1, request.custodians + 1)
        }
        job = _Job(
            request=request,
            principal=principal,
            backup_key=self._source.keyring.current(),
            data_key=secrets.token_bytes(32),
            backup_id=secrets.token_hex(8),
            created_at=self._clock.now(),
            partial=request.out.with_name(f".{request.out.name}.partial-{secrets.token_hex(4)}"),
        )
        request.out.parent.mkdir(parents=True, exist_ok=True)
        paths: list[Path] = []
        try:
            manifest, sha256 = self._write(job, progress)
            spec = ShareSpec(job.backup_id, sha256, request.custodians, request.threshold, self._source.scrypt_n)
            shares = split(job.data_key, request.threshold, request.custodians)
            request.share_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            for share in shares:
                sealed = seal_share(spec, share, passphrases[share.index], job.backup_key)
                paths.append(files.write_private(request.share_path(share.index), sealed))
            files.replace_durably(job.partial, request.out)
        except BaseException:
            for written in paths:
                written.unlink(missing_ok=True)  # shares of a backup that does not exist help nobody
            raise
        finally:
            job.partial.unlink(missing_ok=True)
        self._audit(principal, manifest, sha256, request)
        return CreatedBackup(request.out, sha256, tuple(paths), manifest)

    def _write(self, job: _Job, progress: Progress) -> tuple[Manifest, str]:
        """Write the backup file to ``job.partial``; return its manifest and SHA-256."""
        request, backup_key = job.request, job.backup_key
        keys = PayloadKeys(job.data_key)
        header = {
            "format": FORMAT,
            "backup_id": job.backup_id,
            "created_at": job.created_at.isoformat(),
            "cipher": "AES-256-GCM, STREAM chunks",
            "chunk_size": CHUNK_SIZE,
            "sharing": {"scheme": "shamir-gf256", "threshold": request.threshold, "custodians": request.custodians},
            "backup_key": {"fingerprint": backup_key.fingerprint, "sealed": backup_key.sealed},
        }
        fd = os.open(job.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            writer = BackupWriter(out, header, keys)
            encoder = PartEncoder(writer.write)
            info = self._source.snapshots.snapshot(encoder.write, progress)
            excluded = {request.out, job.partial, *(request.share_path(i) for i in range(1, request.custodians + 1))}
            kept, skipped = files.collect(self._source.data_dir, excluded, encoder.write)
            digests = encoder.finish()
            stream = writer.finish()
            manifest = Manifest(
                backup_id=job.backup_id,
                created_at=job.created_at,
                chancery_version=self._source.version,
                created_by=job.principal.name,
                threshold=request.threshold,
                custodians=request.custodians,
                database=info,
                files=tuple(kept),
                skipped=tuple(skipped),
                parts=tuple(digests),
            )
            signed = canonical(
                {
                    "format": TRAILER_FORMAT,
                    "header_sha256": writer.header_sha256.hex(),
                    "stream": stream.to_json(),
                    "manifest": manifest.to_json(),
                }
            )
            mac = {"data_key": keys.mac(signed).hex(), "backup_key": backup_key.mac(signed).hex()}
            sha256 = writer.write_trailer({"signed": signed.decode(), "mac": mac})
            out.flush()
            os.fsync(out.fileno())
        return manifest, sha256

    def _audit(self, principal: Principal, manifest: Manifest, sha256: str, request: CreateBackup) -> None:
        details = {
            "backup_id": manifest.backup_id,
            "sha256": sha256,
            "file": request.out.name,
            "custodians": request.custodians,
            "threshold": request.threshold,
            "rows": sum(manifest.database.row_counts.values()),
        }
        event = AuditEvent("backup.created", principal.name, target=manifest.backup_id, details=details)
        now = self._clock.now()
        self._writer.run(lambda uow: uow.audit.append([event], now))


def _refuse_existing(request: CreateBackup) -> None:
    if request.out.exists():
        raise Conflict(f"{request.out} exists: choose a new file name for the backup")
    for custodian in range(1, request.custodians + 1):
        if request.share_path(custodian).exists():
            raise Conflict(f"share file {request.share_path(custodian)} exists: choose another --share-dir")
