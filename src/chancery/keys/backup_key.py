"""The installation's backup key: a random AES-256 key kept sealed in the key store.

It is the second of a backup's two layers (the first is the custodian quorum):
every custodian share of a backup's data key is wrapped under it, and it
authenticates the backup's manifest. It is created on the first backup and
stored like a software CA key: a row of the sealed-key table whose blob is
AES-256-GCM under the key store's passphrase-derived KEK (``keys.sealing``).
A backup carries a copy of that sealed blob in its header, so restoring on a
fresh machine needs the key store's secret of the installation that made it
(which the restored CA needs anyway to use its software keys): its passphrase,
or, when the store requires a custodian quorum (``keys.quorum``), the passphrases
of enough of those key custodians; the header then also carries their sealed
shares of the store's secret (public data: each opens only under its
custodian's passphrase).

The raw key never leaves this module: callers get a :class:`BackupKey` that
wraps, unwraps and MACs with keys derived from it (HKDF-SHA256, RFC 5869).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable
from dataclasses import asdict

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from chancery.errors import KeystoreUnavailable, WrongPassphrase
from chancery.keys.custodian_shares import SealedShare
from chancery.keys.quorum import CustodianSource, PassphraseSource, recover
from chancery.keys.sealing import KdfParameters, Sealer
from chancery.keys.vault import SealedKey, SealedKeyVault

BACKUP_KEY_ID = "backup-key"
BACKUP_KEY_TYPE = "aes-256"
BACKUP_KEY_PURPOSE = "backup"
_NONCE = 12


class BackupKey:
    """An opened backup key; it wraps share values and MACs manifests, never shows itself."""

    def __init__(self, raw: bytes, sealed: str) -> None:
        if len(raw) != 32:
            raise KeystoreUnavailable("the backup key is damaged")
        self._wrap = AESGCM(_derive(raw, b"chancery backup key: wrap shares"))
        self._mac = _derive(raw, b"chancery backup key: authenticate manifests")
        self._fingerprint = _derive(raw, b"chancery backup key: fingerprint")[:16].hex()
        self._sealed = sealed

    def __repr__(self) -> str:
        return f"BackupKey({self._fingerprint})"

    @property
    def fingerprint(self) -> str:
        """A public identifier of the key (derived one-way from it): which backup key a backup needs."""
        return self._fingerprint

    @property
    def sealed(self) -> str:
        """What a backup header carries: the key sealed under the key store's secret, and the
        key custodians' sealed shares of that secret when the store requires a quorum."""
        return self._sealed

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._wrap.encrypt(nonce, plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        """Raise :class:`KeystoreUnavailable` when ``blob`` was not wrapped by this key for ``aad``."""
        try:
            return self._wrap.decrypt(blob[:_NONCE], blob[_NONCE:], aad)
        except (InvalidTag, ValueError):
            raise KeystoreUnavailable("a share is not wrapped by this backup key") from None

    def mac(self, data: bytes) -> bytes:
        return hmac.new(self._mac, data, hashlib.sha256).digest()

    def verify_mac(self, data: bytes, tag: bytes) -> bool:
        return hmac.compare_digest(self.mac(data), tag)


class BackupKeyring:
    """Finds the installation's backup key in the key store, creating it on first use."""

    def __init__(
        self,
        vault: SealedKeyVault,
        sealer: Callable[[], Sealer],
        kdf: Callable[[], KdfParameters],
        quorum: Callable[[], tuple[SealedShare, ...]],
    ) -> None:
        """``sealer``: the software store's current sealer; ``kdf``: its KDF parameters (proving
        its secret); ``quorum``: the key custodians' sealed shares when the store requires a quorum."""
        self._vault = vault
        self._sealer = sealer
        self._kdf = kdf
        self._quorum = quorum

    def __repr__(self) -> str:
        return "BackupKeyring(<sealed>)"

    def current(self) -> BackupKey:
        """The backup key (created and stored sealed the first time)."""
        kdf = self._kdf()
        stored = self._vault.get_key(BACKUP_KEY_ID)
        if stored is None:
            raw = os.urandom(32)
            blob = self._sealer().seal(raw, BACKUP_KEY_ID, BACKUP_KEY_TYPE, kdf)
            self._vault.put_key(SealedKey(BACKUP_KEY_ID, BACKUP_KEY_TYPE, BACKUP_KEY_PURPOSE, blob))
        else:
            blob = stored.blob
            key_type, raw = self._sealer().open(blob, BACKUP_KEY_ID)
            if key_type != BACKUP_KEY_TYPE:
                raise KeystoreUnavailable("the sealed backup key is of the wrong type")
        envelope = {"blob": blob, "key_store_quorum": [asdict(share) for share in self._quorum()]}
        return BackupKey(raw, json.dumps(envelope, sort_keys=True))


def open_backup_key(sealed: str, passphrase: PassphraseSource, custodians: CustodianSource) -> BackupKey:
    """Open the backup key a backup header carries (see :attr:`BackupKey.sealed`).

    Raises :class:`WrongPassphrase` when the key store passphrase (or a key custodian's)
    is not the one of the installation that made the backup, :class:`KeystoreUnavailable`
    when too few key custodians are at hand or the envelope is damaged.
    """
    try:
        envelope = json.loads(sealed)
        blob = str(envelope["blob"])
        shares = tuple(SealedShare(**share) for share in envelope["key_store_quorum"])
    except (ValueError, KeyError, TypeError):
        raise KeystoreUnavailable("the backup key in the backup's header is damaged") from None
    source: PassphraseSource = (lambda: recover(shares, custodians)[0]) if shares else passphrase
    try:
        key_type, raw = Sealer(source).open(blob, BACKUP_KEY_ID)
    except WrongPassphrase:
        what = "the key custodians' shares" if shares else "the key store passphrase (CHANCERY_KEY_PASSPHRASE)"
        raise WrongPassphrase(
            f"the backup key does not open: {what} of the installation that made the backup do not open it"
        ) from None
    if key_type != BACKUP_KEY_TYPE:
        raise KeystoreUnavailable("the sealed backup key is of the wrong type")
    return BackupKey(raw, sealed)


def _derive(raw: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(raw)
