"""One custodian's share of the key store's secret, sealed under that custodian's passphrase.

A share is AES-256-GCM ciphertext under a key derived from the custodian's
passphrase with scrypt (RFC 7914), fresh salt per share. The associated data
binds it to its custodian, its split (``quorum_id``), the threshold and its
index, so a share does not open under another name and shares of two splits
cannot be mixed unnoticed. A wrong passphrase fails the GCM tag check.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from chancery.errors import KeystoreUnavailable, WrongPassphrase
from chancery.keys.sealing import KdfParameters
from chancery.keys.shamir import Share

SHARE_FORMAT = "chancery-custodian-share/1"


@dataclass(frozen=True)
class SealedShare:
    """A share as stored: public metadata and the sealed share value."""

    custodian: str
    quorum_id: str
    threshold: int
    index: int
    blob: str = field(repr=False)


def seal_share(
    share: Share, custodian: str, passphrase: bytes, quorum_id: str, threshold: int, scrypt_n: int
) -> SealedShare:
    params = KdfParameters.fresh(scrypt_n)
    nonce = os.urandom(12)
    aad = _aad(custodian, quorum_id, threshold, share.index)
    ciphertext = AESGCM(_derive(passphrase, params)).encrypt(nonce, share.value, aad)
    blob = json.dumps(
        {
            "format": SHARE_FORMAT,
            "kdf": params.to_json(),
            "cipher": "AES-256-GCM",
            "nonce": _b64(nonce),
            "ciphertext": _b64(ciphertext),
        }
    )
    return SealedShare(custodian, quorum_id, threshold, share.index, blob)


def open_share(sealed: SealedShare, passphrase: bytes) -> Share:
    """The share; :class:`WrongPassphrase` naming the custodian when the passphrase does not open it."""
    try:
        doc = json.loads(sealed.blob)
        if not isinstance(doc, dict) or doc.get("format") != SHARE_FORMAT or doc.get("cipher") != "AES-256-GCM":
            raise ValueError("unknown format")
        params = KdfParameters.from_json(doc.get("kdf"))
        nonce, ciphertext = _unb64(doc["nonce"]), _unb64(doc["ciphertext"])
    except (KeyError, ValueError, TypeError):
        raise KeystoreUnavailable(f"custodian {sealed.custodian}'s share of the key store secret is damaged") from None
    aad = _aad(sealed.custodian, sealed.quorum_id, sealed.threshold, sealed.index)
    try:
        value = AESGCM(_derive(passphrase, params)).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise WrongPassphrase(
            f"custodian {sealed.custodian}'s passphrase is wrong (it does not open their share of the key store secret)"
        ) from None
    return Share(sealed.index, value)


def _derive(passphrase: bytes, params: KdfParameters) -> bytes:
    return Scrypt(salt=params.salt, length=32, n=params.n, r=params.r, p=params.p).derive(passphrase)


def _aad(custodian: str, quorum_id: str, threshold: int, index: int) -> bytes:
    return f"{SHARE_FORMAT}|{custodian}|{quorum_id}|{threshold}|{index}".encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(data: object) -> bytes:
    if not isinstance(data, str):
        raise ValueError("expected base64 text")
    return base64.b64decode(data.encode("ascii"), validate=True)
