"""Opening a backup file, layer by layer: structure, backup key, custodian quorum, payload."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from chancery.domain.backups import Progress
from chancery.errors import KeystoreUnavailable, Malformed
from chancery.keys.shamir import combine
from chancery.services.backup.container import (
    BackupDamaged,
    Layout,
    PayloadKeys,
    decrypt_chunks,
    read_layout,
)
from chancery.services.backup.custodians import ShareFile, open_share, passphrase_from, read_share_file
from chancery.services.backup.manifest import Manifest
from chancery.services.backup.parts import PartDecoder, PartDigest
from chancery.services.backup.ports import BackupKeyHandle

TRAILER_FORMAT = "chancery-backup-trailer/1"


class OpenedBackup:
    """A backup file whose framing and unkeyed digests are consistent (nothing decrypted yet)."""

    def __init__(self, path: Path, layout: Layout, signed: bytes, manifest: Manifest) -> None:
        self.path = path
        self.layout = layout
        self.signed = signed
        self.manifest = manifest

    @classmethod
    def open(cls, path: Path) -> OpenedBackup:
        """Read the whole file once; raise :class:`BackupDamaged` if anything does not add up."""
        try:
            with path.open("rb") as handle:
                layout = read_layout(handle)
        except OSError as exc:
            raise Malformed(f"cannot read backup {path}: {exc.strerror}") from None
        signed_text = layout.trailer.get("signed")
        if not isinstance(signed_text, str):
            raise BackupDamaged("the backup's trailer is damaged")
        signed = signed_text.encode()
        try:
            document = json.loads(signed)
        except ValueError:
            raise BackupDamaged("the backup's trailer is damaged") from None
        if not isinstance(document, dict) or document.get("format") != TRAILER_FORMAT:
            raise BackupDamaged("the backup's trailer is in an unknown format")
        manifest = Manifest.from_json(document.get("manifest"))
        _check_consistency(layout, document, manifest)
        return cls(path, layout, signed, manifest)

    @property
    def header(self) -> dict[str, Any]:
        return self.layout.header

    @property
    def sealed_backup_key(self) -> str:
        return str(self.header["backup_key"]["sealed"])

    def authenticate(self, backup_key: BackupKeyHandle) -> None:
        """Check the trailer's MAC under the backup key: every byte of the file is then vouched for."""
        if backup_key.fingerprint != self.header["backup_key"]["fingerprint"]:
            raise BackupDamaged("the backup key in the header is not the one that made this backup")
        if not backup_key.verify_mac(self.signed, _mac(self.layout.trailer, "backup_key")):
            raise BackupDamaged("the backup's manifest fails authentication under the backup key: the file was altered")

    def payload_keys(
        self, shares: Sequence[ShareFile], passphrase: Callable[[int], bytes], backup_key: BackupKeyHandle
    ) -> PayloadKeys:
        """Open each custodian's share (their passphrase, then the backup key) and rebuild the data key."""
        opened = [open_share(share, passphrase_from(passphrase, share.custodian), backup_key) for share in shares]
        keys = PayloadKeys(combine(opened))
        if not _verify(keys.mac(self.signed), _mac(self.layout.trailer, "data_key")):
            raise KeystoreUnavailable(
                "the shares do not rebuild this backup's data key: a share is from another split, or damaged"
            )
        return keys

    def replay(
        self,
        keys: PayloadKeys,
        on_block: Callable[[str, bytes], None],
        progress: Progress,
        on_part_end: Callable[[str], None] | None = None,
        label: str = "checking the backup",
    ) -> None:
        """Decrypt every chunk and check every part against the manifest, in order.

        ``on_block`` sees each block only after its chunk authenticated; a part is
        checked (size and SHA-256) when it ends, the payload's end when it ends.
        """
        expected = list(self.manifest.parts)
        seen: list[PartDigest] = []

        def on_end(digest: PartDigest) -> None:
            index = len(seen)
            if index >= len(expected) or expected[index] != digest:
                raise BackupDamaged(f"the backup's part {digest.name!r} does not match its manifest")
            seen.append(digest)
            if on_part_end is not None:
                on_part_end(digest.name)

        decoder = PartDecoder(on_block, on_end)
        progress.start(label, self.layout.size)
        with self.path.open("rb") as handle:
            for plaintext in decrypt_chunks(handle, self.layout, keys):
                decoder.feed(plaintext)
                progress.advance(len(plaintext))
        progress.done()
        if not decoder.finished or len(seen) != len(expected):
            raise BackupDamaged("the backup's payload ends early: parts listed in its manifest are missing")


def load_shares(paths: Sequence[Path], backup: OpenedBackup) -> list[ShareFile]:
    """Parse the share files and check they belong to ``backup`` and make a quorum."""
    manifest = backup.manifest
    shares = []
    for path in paths:
        share = read_share_file(path)
        if share.backup_id != manifest.backup_id:
            raise Malformed(f"share file {path.name} belongs to backup {share.backup_id}, not to {manifest.backup_id}")
        if any(s.custodian == share.custodian for s in shares):
            raise Malformed(f"custodian {share.custodian}'s share is given twice")
        shares.append(share)
    if len(shares) < manifest.threshold:
        raise KeystoreUnavailable(
            f"backup {manifest.backup_id} needs the shares of {manifest.threshold} of its {manifest.custodians} "
            f"custodians; {len(shares)} given"
        )
    return shares


def _check_consistency(layout: Layout, document: dict[str, Any], manifest: Manifest) -> None:
    stream = document.get("stream")
    expected = {"chunks": len(layout.chunks), "bytes": sum(s for _, s in layout.chunks), "sha256": layout.prefix_sha256}
    if stream != expected:
        raise BackupDamaged("the encrypted data does not match the digests in the trailer: the backup is damaged")
    if document.get("header_sha256") != layout.header_sha256.hex():
        raise BackupDamaged("the header does not match the trailer: the backup is damaged")
    header = layout.header
    sharing = header.get("sharing") or {}
    if (
        header.get("backup_id") != manifest.backup_id
        or sharing.get("threshold") != manifest.threshold
        or sharing.get("custodians") != manifest.custodians
        or not isinstance(header.get("backup_key"), dict)
    ):
        raise BackupDamaged("the header and the manifest disagree: the backup is damaged")


def _mac(trailer: dict[str, Any], name: str) -> bytes:
    try:
        return bytes.fromhex(str(trailer["mac"][name]))
    except (KeyError, TypeError, ValueError):
        raise BackupDamaged("the backup's trailer lacks its authentication codes") from None


def _verify(actual: bytes, expected: bytes) -> bool:
    import hmac

    return hmac.compare_digest(actual, expected)
