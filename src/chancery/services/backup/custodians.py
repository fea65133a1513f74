"""Custodian share files: one Shamir share of a backup's data key, in two independent layers.

Inner layer: the share value wrapped (AES-256-GCM) under the installation's
backup key. Outer layer: that wrapped value encrypted (AES-256-GCM) under a key
derived with scrypt (RFC 7914) from the custodian's own passphrase. The clear
fields (backup id, custodian number, threshold...) are associated data of both,
so a share edited to look like another backup's, or another custodian's, does
not open. A custodian can check their passphrase alone; nobody learns a share
value without the backup key too.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from chancery.errors import CAError, KeystoreUnavailable, Malformed, WrongPassphrase
from chancery.keys.sealing import KdfParameters
from chancery.keys.shamir import Share
from chancery.services.backup.container import canonical
from chancery.services.backup.ports import BackupKeyHandle

SHARE_FORMAT = "chancery-backup-share/1"
MIN_CUSTODIAN_PASSPHRASE = 12
_MAX_SHARE_FILE = 64 * 1024


@dataclass(frozen=True)
class ShareFile:
    """A parsed share file (still sealed)."""

    path: Path
    backup_id: str
    backup_sha256: str
    custodian: int
    custodians: int
    threshold: int
    backup_key: str  # fingerprint of the backup key the share is wrapped under
    kdf: KdfParameters
    nonce: bytes
    ciphertext: bytes

    def clear_fields(self) -> dict[str, Any]:
        return {
            "format": SHARE_FORMAT,
            "backup_id": self.backup_id,
            "backup_sha256": self.backup_sha256,
            "custodian": self.custodian,
            "custodians": self.custodians,
            "threshold": self.threshold,
            "backup_key": self.backup_key,
            "kdf": self.kdf.to_json(),
        }


@dataclass(frozen=True)
class ShareSpec:
    """What a share is for (everything but the secret)."""

    backup_id: str
    backup_sha256: str
    custodians: int
    threshold: int
    scrypt_n: int


def seal_share(spec: ShareSpec, share: Share, passphrase: bytes, backup_key: BackupKeyHandle) -> bytes:
    """The bytes of custodian ``share.index``'s share file."""
    check_new_passphrase(share.index, passphrase)
    wrapped = backup_key.wrap(share.value, _inner_aad(spec.backup_id, share.index))
    sealed = ShareFile(
        path=Path(),
        backup_id=spec.backup_id,
        backup_sha256=spec.backup_sha256,
        custodian=share.index,
        custodians=spec.custodians,
        threshold=spec.threshold,
        backup_key=backup_key.fingerprint,
        kdf=KdfParameters.fresh(spec.scrypt_n),
        nonce=os.urandom(12),
        ciphertext=b"",
    )
    ciphertext = _aead(passphrase, sealed.kdf).encrypt(sealed.nonce, wrapped, canonical(sealed.clear_fields()))
    document = {**sealed.clear_fields(), "nonce": _b64(sealed.nonce), "ciphertext": _b64(ciphertext)}
    return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()


def read_share_file(path: Path) -> ShareFile:
    """Parse a share file; raise :class:`Malformed` when it is not one."""
    try:
        if path.stat().st_size > _MAX_SHARE_FILE:
            raise Malformed(f"{path} is too large to be a backup share file")
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise Malformed(f"cannot read share file {path}: {exc.strerror}") from None
    except ValueError:
        raise Malformed(f"{path} is not a backup share file (not JSON)") from None
    if not isinstance(document, dict) or document.get("format") != SHARE_FORMAT:
        raise Malformed(f"{path} is not a Chancery backup share file")
    try:
        return ShareFile(
            path=path,
            backup_id=str(document["backup_id"]),
            backup_sha256=str(document["backup_sha256"]),
            custodian=int(document["custodian"]),
            custodians=int(document["custodians"]),
            threshold=int(document["threshold"]),
            backup_key=str(document["backup_key"]),
            kdf=KdfParameters.from_json(document["kdf"]),
            nonce=_unb64(document["nonce"]),
            ciphertext=_unb64(document["ciphertext"]),
        )
    except (CAError, KeyError, TypeError, ValueError):
        raise Malformed(f"share file {path} is damaged") from None


def open_share(share: ShareFile, passphrase: bytes, backup_key: BackupKeyHandle) -> Share:
    """Both layers off: the custodian's passphrase, then the backup key.

    Raises :class:`WrongPassphrase` for a wrong passphrase (or an edited file) and
    :class:`KeystoreUnavailable` when the share is not wrapped by this backup key.
    """
    try:
        wrapped = _aead(passphrase, share.kdf).decrypt(share.nonce, share.ciphertext, canonical(share.clear_fields()))
    except InvalidTag:
        raise WrongPassphrase(
            f"custodian {share.custodian}'s share {share.path.name} does not open: wrong custodian passphrase, "
            "or the share file was altered"
        ) from None
    try:
        value = backup_key.unwrap(wrapped, _inner_aad(share.backup_id, share.custodian))
    except KeystoreUnavailable:
        raise KeystoreUnavailable(
            f"custodian {share.custodian}'s share is not wrapped by this installation's backup key"
        ) from None
    return Share(share.custodian, value)


def check_new_passphrase(custodian: int, passphrase: bytes) -> bytes:
    """A passphrase a new share may be sealed under; :class:`Malformed` when it is too short."""
    if len(passphrase) < MIN_CUSTODIAN_PASSPHRASE:
        raise Malformed(
            f"custodian {custodian}'s passphrase is too short: at least {MIN_CUSTODIAN_PASSPHRASE} characters"
        )
    return passphrase


def passphrase_from(source: Callable[[int], bytes], custodian: int) -> bytes:
    value = source(custodian)
    if not value:
        raise WrongPassphrase(f"no passphrase given for custodian {custodian}")
    return value


def _inner_aad(backup_id: str, custodian: int) -> bytes:
    return canonical({"format": SHARE_FORMAT, "layer": "backup-key", "backup_id": backup_id, "custodian": custodian})


def _aead(passphrase: bytes, kdf: KdfParameters) -> AESGCM:
    key = Scrypt(salt=kdf.salt, length=32, n=kdf.n, r=kdf.r, p=kdf.p).derive(passphrase)
    return AESGCM(key)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(data: Any) -> bytes:
    if not isinstance(data, str):
        raise ValueError("expected base64 text")
    return base64.b64decode(data.encode("ascii"), validate=True)
