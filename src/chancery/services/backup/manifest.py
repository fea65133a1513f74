"""The manifest: what a backup holds, in the clear inside its authenticated trailer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from chancery.domain.backups import ExpectedHsmKey, SnapshotInfo, StoredKey
from chancery.services.backup.container import BackupDamaged
from chancery.services.backup.parts import PartDigest

MANIFEST_FORMAT = "chancery-backup-manifest/1"


@dataclass(frozen=True)
class Manifest:
    backup_id: str
    created_at: dt.datetime
    chancery_version: str
    created_by: str
    threshold: int
    custodians: int
    database: SnapshotInfo
    files: tuple[str, ...]  # data-directory files, restored beside the database
    skipped: tuple[str, ...]  # data-directory entries deliberately left out (with why)
    parts: tuple[PartDigest, ...]

    def to_json(self) -> dict[str, Any]:
        db = self.database
        return {
            "format": MANIFEST_FORMAT,
            "backup_id": self.backup_id,
            "created_at": self.created_at.isoformat(),
            "chancery_version": self.chancery_version,
            "created_by": self.created_by,
            "sharing": {"scheme": "shamir-gf256", "threshold": self.threshold, "custodians": self.custodians},
            "database": {"kind": db.kind, "schema_revision": db.schema_revision, "row_counts": db.row_counts},
            "software_keys": [vars(k) for k in db.software_keys],
            "hsm_keys": [vars(k) for k in db.hsm_keys],
            "files": list(self.files),
            "skipped": list(self.skipped),
            "parts": [p.to_json() for p in self.parts],
        }

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        """Parse a manifest; raise :class:`BackupDamaged` when it is not one this Chancery reads."""
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise BackupDamaged("the backup's manifest is missing or in an unknown format")
        try:
            db, sharing = data["database"], data["sharing"]
            info = SnapshotInfo(
                kind=str(db["kind"]),
                schema_revision=str(db["schema_revision"]),
                row_counts={str(k): int(v) for k, v in db["row_counts"].items()},
                software_keys=tuple(StoredKey(**k) for k in data["software_keys"]),
                hsm_keys=tuple(ExpectedHsmKey(**k) for k in data["hsm_keys"]),
            )
            manifest = cls(
                backup_id=str(data["backup_id"]),
                created_at=dt.datetime.fromisoformat(data["created_at"]),
                chancery_version=str(data["chancery_version"]),
                created_by=str(data["created_by"]),
                threshold=int(sharing["threshold"]),
                custodians=int(sharing["custodians"]),
                database=info,
                files=tuple(str(f) for f in data["files"]),
                skipped=tuple(str(s) for s in data["skipped"]),
                parts=tuple(PartDigest.from_json(p) for p in data["parts"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BackupDamaged("the backup's manifest is incomplete or malformed") from None
        if info.kind not in {"sqlite", "postgresql"}:
            raise BackupDamaged(f"the manifest names an unknown database kind {info.kind!r}")
        return manifest

    def summary_lines(self) -> list[str]:
        """What ``backup verify`` shows (no secrets: key ids and public-key hashes only)."""
        db = self.database
        rows = sum(db.row_counts.values())
        lines = [
            f"backup {self.backup_id}, made {self.created_at:%Y-%m-%d %H:%M:%S}Z by {self.created_by} "
            f"with Chancery {self.chancery_version}",
            f"database: {db.kind}, schema {db.schema_revision}, {len(db.row_counts)} tables, {rows} rows "
            f"({db.row_counts.get('certificates', 0)} certificates, {db.row_counts.get('authorities', 0)} CAs)",
            f"custodians: any {self.threshold} of {self.custodians}",
            f"software keys sealed in the database: {len(db.software_keys)}",
            f"HSM keys the CAs expect (not in the backup): {len(db.hsm_keys)}",
        ]
        lines += [
            f"  {k.ca}: label {k.label!r}, {k.key_id} ({k.key_type}), public key SHA-256 {k.public_key_sha256}"
            for k in db.hsm_keys
        ]
        lines.append(f"data-directory files: {', '.join(self.files) or 'none'}")
        lines += [f"  left out: {s}" for s in self.skipped]
        return lines
