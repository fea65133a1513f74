"""M-of-N activation of the software key store.

Normally the key-encryption key derives from one passphrase
(CHANCERY_KEY_PASSPHRASE). Under a quorum it derives from a random 32-byte
secret that nobody knows: the secret is split with Shamir's scheme
(:mod:`chancery.keys.shamir`) into one share per custodian, each share sealed
under that custodian's passphrase (:mod:`chancery.keys.custodian_shares`), and
the store opens only when ``threshold`` custodians give their passphrases.

Turning the quorum on (or re-splitting among other custodians) re-keys the
store: every blob sealed under the old secret (sealed keys and sealed secrets)
is opened and sealed again under the new one, and the new passphrase check, the
re-sealed blobs and the shares replace the old ones in one transaction. The old
passphrase opens nothing afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from chancery.domain.audit import AuditEvent
from chancery.domain.custodians import passphrase_variable
from chancery.errors import Conflict, KeystoreUnavailable, Malformed
from chancery.keys import shamir
from chancery.keys.custodian_shares import SealedShare, open_share, seal_share
from chancery.keys.sealing import KdfParameters, Sealer
from chancery.keys.software import SoftwareKeyStore

SECRET_BYTES = 32
PassphraseSource = bytes | Callable[[], bytes]
# Given the custodians holding shares and the threshold, the passphrases of those who are
# present (at least ``threshold`` of them to open the store), by custodian name.
CustodianSource = Callable[[tuple[str, ...], int], Mapping[str, bytes]]


@dataclass(frozen=True)
class BlobRef:
    """Where one blob sealed under the store's secret lives (the store fills it in; opaque here)."""

    table: str
    key: tuple[str | int, ...]
    column: str


@dataclass(frozen=True)
class QuorumChange:
    """What re-keying writes, all at once: it applies only if the check is still ``previous_check``
    and the sealed blobs are still exactly ``originals`` (else a change made meanwhile would be lost)."""

    previous_check: str
    check: str
    originals: Mapping[BlobRef, str] = field(repr=False)
    blobs: Mapping[BlobRef, str] = field(repr=False)
    shares: tuple[SealedShare, ...]


class QuorumVault(Protocol):
    """Where the shares live, and access to every sealed blob for re-keying."""

    def shares(self) -> tuple[SealedShare, ...]:
        """The shares of the current split, by index; empty when no quorum is required."""
        ...

    def current_check(self) -> str | None: ...

    def sealed_blobs(self) -> dict[BlobRef, str]: ...

    def install(self, change: QuorumChange, event: AuditEvent, at: dt.datetime) -> None:
        """Apply ``change`` and append ``event`` to the audit log in one transaction;
        raise :class:`~chancery.errors.Conflict` when the store changed since it was read."""
        ...


class QuorumSecret:
    """The key store's secret source: the passphrase, or under a quorum the combined shares."""

    def __init__(self, vault: QuorumVault, custodians: CustodianSource, passphrase: PassphraseSource) -> None:
        self._vault = vault
        self._custodians = custodians
        self._passphrase = passphrase
        self.unlocked_by: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return "QuorumSecret(<hidden>)"

    def __call__(self) -> bytes:
        shares = self._vault.shares()
        if not shares:
            return self._passphrase() if callable(self._passphrase) else self._passphrase
        secret, self.unlocked_by = recover(shares, self._custodians)
        return secret


def recover(shares: tuple[SealedShare, ...], source: CustodianSource) -> tuple[bytes, tuple[str, ...]]:
    """Open ``threshold`` shares with their custodians' passphrases and combine them."""
    threshold = shares[0].threshold
    names = tuple(share.custodian for share in shares)
    given = source(names, threshold)
    opened: list[shamir.Share] = []
    used: list[str] = []
    for share in shares:
        passphrase = given.get(share.custodian)
        if passphrase and len(opened) < threshold:
            opened.append(open_share(share, passphrase))
            used.append(share.custodian)
    if len(opened) < threshold:
        variables = ", ".join(passphrase_variable(name) for name in names)
        raise KeystoreUnavailable(
            f"the key store opens with {threshold} of its {len(names)} custodians' passphrases "
            f"({', '.join(names)}); {len(opened)} given. Set {variables} or run on a terminal"
        )
    return shamir.combine(opened), tuple(used)


class SoftwareQuorum:
    """Turns the quorum on for a :class:`SoftwareKeyStore` (or re-splits among other custodians)."""

    def __init__(self, store: SoftwareKeyStore, vault: QuorumVault, scrypt_n: int) -> None:
        self._store = store
        self._vault = vault
        self._scrypt_n = scrypt_n

    def require(self, passphrases: Mapping[str, bytes], threshold: int, event: AuditEvent, at: dt.datetime) -> None:
        """Re-key the store under a fresh secret split ``threshold``-of-``len(passphrases)``, one share
        per custodian (in the mapping's order), each sealed under that custodian's passphrase."""
        if not 1 <= threshold <= len(passphrases) <= shamir.MAX_SHARES:
            raise Malformed("need 1 <= threshold <= custodians")
        self._store.unlock()  # proves the current secret (passphrase or quorum) before anything
        previous_check = self._vault.current_check()
        if previous_check is None:
            raise KeystoreUnavailable("the key store is not initialised; run `chancery init`")
        old = self._store.sealer
        secret = os.urandom(SECRET_BYTES)
        new = Sealer(secret)
        params = KdfParameters.fresh(self._scrypt_n)
        check = new.make_check(params)
        originals = self._vault.sealed_blobs()
        blobs = {ref: _reseal(blob, old, new, params) for ref, blob in originals.items()}
        quorum_id = secrets.token_hex(16)
        shares = tuple(
            seal_share(share, name, passphrases[name], quorum_id, threshold, self._scrypt_n)
            for name, share in zip(passphrases, shamir.split(secret, threshold, len(passphrases)), strict=True)
        )
        self._vault.install(QuorumChange(previous_check, check, originals, blobs, shares), event, at)
        self._store.use_sealer(new)


def _reseal(blob: str, old: Sealer, new: Sealer, params: KdfParameters) -> str:
    """Open ``blob`` under the old secret and seal its content again, under the same id, with the new."""
    try:
        key_id = json.loads(blob)["key_id"]
    except (ValueError, KeyError, TypeError):
        raise Conflict("a sealed blob is damaged; the key store was not re-keyed") from None
    key_type, plaintext = old.open(blob, str(key_id))
    return new.seal(plaintext, str(key_id), key_type, params)
