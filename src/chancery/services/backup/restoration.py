"""``chancery backup restore``: a new installation from a backup, checked completely first.

Order: the file's structure and digests; the target (empty, or ``--force`` under
the existing installation's dual control); the backup key (the key store
passphrase of the installation that made the backup) and the trailer's MAC;
the custodians' shares and the data key they rebuild; then a first pass that
decrypts and checks every byte against the manifest while writing nothing.
Only then a second pass writes, into a temporary sibling directory (and, for
PostgreSQL, one transaction), which is renamed into place at the very end.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.backups import LoadRequest, Progress, QuietProgress
from chancery.domain.principals import Principal
from chancery.errors import Conflict, HsmKeyMissing, Malformed
from chancery.services.approvals import DualControl
from chancery.services.backup import placement
from chancery.services.backup.container import PayloadKeys
from chancery.services.backup.files import FILE_PART, restorable_name
from chancery.services.backup.manifest import Manifest
from chancery.services.backup.permits import authorise_replacement
from chancery.services.backup.ports import BackupKeyOpener, DatabaseLoader, HsmKeyProbe, RestoreTargets
from chancery.services.backup.reading import OpenedBackup, load_shares

# Opens the installation already at (data dir, database URL), if one is there, for its dual control.
InstallationOpener = Callable[[Path, str | None], AbstractContextManager[DualControl | None]]


@dataclass(frozen=True)
class RestoreBackup:
    backup: Path
    target: Path
    shares: tuple[Path, ...]
    database_url: str | None = None  # a PostgreSQL database to fill; None: SQLite in the target directory
    force: bool = False

    def __post_init__(self) -> None:
        if self.database_url is not None and not self.database_url.startswith("postgresql"):
            raise Malformed("--database-url names a PostgreSQL database; a SQLite restore goes into --to")


@dataclass(frozen=True)
class RestoredBackup:
    target: Path
    manifest: Manifest
    sha256: str
    custodians: tuple[int, ...]
    moved_aside: Path | None
    notes: tuple[str, ...]  # what the operator should know (HSM keys checked or not)


@dataclass(frozen=True)
class RestoreEnvironment:
    targets: RestoreTargets
    open_backup_key: BackupKeyOpener
    hsm_probe: Callable[[Path, str | None], HsmKeyProbe]
    installations: InstallationOpener
    clock: Clock


@dataclass(frozen=True)
class _Unlocked:
    """A backup whose every byte checked out, with its data key and the custodians who opened it."""

    backup: OpenedBackup
    keys: PayloadKeys
    custodians: tuple[int, ...]


class BackupRestorer:
    def __init__(self, environment: RestoreEnvironment) -> None:
        self._env = environment

    def restore(
        self,
        principal: Principal,
        request: RestoreBackup,
        passphrase: Callable[[int], bytes],
        progress: Progress | None = None,
    ) -> RestoredBackup:
        """Restore ``request.backup`` into ``request.target``; nothing is written unless all of it checks out."""
        progress = progress or QuietProgress()
        backup = OpenedBackup.open(request.backup)
        self._preflight(principal, request, backup)
        backup_key = self._env.open_backup_key(backup.sealed_backup_key)
        backup.authenticate(backup_key)
        shares = load_shares(request.shares, backup)
        keys = backup.payload_keys(shares, passphrase, backup_key)
        backup.replay(keys, _ignore, progress)  # first pass: every byte checked, nothing written
        unlocked = _Unlocked(backup, keys, tuple(sorted(s.custodian for s in shares)))
        return self._write(principal, request, unlocked, progress)

    def _preflight(self, principal: Principal, request: RestoreBackup, backup: OpenedBackup) -> None:
        occupied = placement.is_non_empty(request.target)
        if occupied and not request.force:
            raise Conflict(
                f"{request.target} is not empty: restore into a new directory, or pass --force "
                "(replacing an installation needs its dual control)"
            )
        if not request.force:
            self._env.targets.check_empty(request.database_url)
            return
        with self._env.installations(request.target, request.database_url) as dual:
            if dual is not None:
                authorise_replacement(dual, principal, request.target, backup.layout.file_sha256, self._env.clock)

    def _write(
        self, principal: Principal, request: RestoreBackup, unlocked: _Unlocked, progress: Progress
    ) -> RestoredBackup:
        backup, custodians = unlocked.backup, unlocked.custodians
        manifest, now = backup.manifest, self._env.clock.now()
        workdir = placement.make_workdir(request.target)
        loader: DatabaseLoader | None = None
        committed = False
        try:
            loader = self._env.targets.loader(
                LoadRequest(
                    source_kind=manifest.database.kind,
                    schema_revision=manifest.database.schema_revision,
                    row_counts=manifest.database.row_counts,
                    workdir=workdir,
                    database_url=request.database_url,
                    audit_at=now,
                    audit=(_audit_event(principal, request, backup, custodians),),
                    replace_existing=request.force,
                )
            )
            _replay_into(backup, unlocked.keys, workdir, loader, progress)
            placement.configure(workdir, request.database_url)
            loader.commit()
            committed = True
            notes = self._check_hsm_keys(workdir, request.database_url, manifest)
            aside = placement.put_in_place(workdir, request.target, now)
        except BaseException:
            if loader is not None:
                loader.abort()
                if committed:
                    loader.discard()
            placement.discard(workdir)
            raise
        return RestoredBackup(request.target, manifest, backup.layout.file_sha256, custodians, aside, notes)

    def _check_hsm_keys(self, workdir: Path, database_url: str | None, manifest: Manifest) -> tuple[str, ...]:
        expected = manifest.database.hsm_keys
        if not expected:
            return ()
        statuses = self._env.hsm_probe(workdir, database_url).check(expected)
        if statuses is None:
            names = ", ".join(f"{k.key_id} ({k.ca})" for k in expected)
            return (f"HSM keys NOT checked: no PKCS#11 key store is configured. The restored CAs expect: {names}",)
        missing = [s for s in statuses if not s.present]
        if missing:
            detail = "; ".join(f"{s.key.key_id} of CA {s.key.ca}: {s.detail}" for s in missing)
            raise HsmKeyMissing(f"the restored CAs' HSM keys are not all in the configured HSM: {detail}")
        return tuple(f"HSM key {s.key.key_id} of CA {s.key.ca}: present, public key matches" for s in statuses)


def _replay_into(
    backup: OpenedBackup, keys: PayloadKeys, workdir: Path, loader: DatabaseLoader, progress: Progress
) -> None:
    """Second pass: the database parts to the loader, the data-directory files into ``workdir``."""
    handles: dict[str, IO[bytes]] = {}

    def open_file(part: str) -> IO[bytes]:
        handle = handles.get(part)
        if handle is None:
            name = restorable_name(part)
            if name is None:
                raise Malformed(f"the backup holds a file part with an unsafe name {part!r}")
            handle = handles[part] = (workdir / name).open("xb")
            (workdir / name).chmod(0o600)
        return handle

    def on_block(part: str, block: bytes) -> None:
        if part.startswith(FILE_PART):
            open_file(part).write(block)
        else:
            loader.feed(part, block)

    def on_end(part: str) -> None:
        if part.startswith(FILE_PART):
            open_file(part).close()
        else:
            loader.end_part(part)

    try:
        backup.replay(keys, on_block, progress, on_end, label="restoring")
    finally:
        for handle in handles.values():
            handle.close()


def _audit_event(
    principal: Principal, request: RestoreBackup, backup: OpenedBackup, custodians: tuple[int, ...]
) -> AuditEvent:
    manifest = backup.manifest
    details = {
        "backup_id": manifest.backup_id,
        "backup_sha256": backup.layout.file_sha256,
        "backup_created_at": manifest.created_at.isoformat(),
        "source_database": manifest.database.kind,
        "target_database": "postgresql" if request.database_url else "sqlite",
        "custodians": list(custodians),
        "replaced_existing": request.force,
    }
    return AuditEvent("backup.restored", principal.name, target=manifest.backup_id, details=details)


def _ignore(part: str, block: bytes) -> None:
    pass
