"""Sealing private keys at rest: AES-256-GCM under a key-encryption key (KEK)
derived from a passphrase with scrypt (RFC 7914).

A sealed blob is a small JSON document that carries everything needed to open
it but the passphrase: the KDF name, its parameters and salt, the nonce and the
ciphertext. The associated data binds the blob to its key id and key type, so a
blob copied under another id does not open. A wrong passphrase fails the GCM
tag check and is reported as :class:`~chancery.errors.WrongPassphrase`.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from chancery.errors import KeystoreUnavailable, WrongPassphrase

BLOB_FORMAT = "chancery-sealed-key/1"
CHECK_FORMAT = "chancery-keystore-check/1"
_CHECK_PLAINTEXT = b"chancery key store passphrase check"
MIN_SCRYPT_N = 2**14
MIN_PASSPHRASE_LENGTH = 12
DEFAULT_SCRYPT_N = 2**17


@dataclass(frozen=True)
class KdfParameters:
    """scrypt parameters and salt (RFC 7914 §2). ``n`` must be a power of two >= 2**14."""

    salt: bytes
    n: int = DEFAULT_SCRYPT_N
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if self.n < MIN_SCRYPT_N or self.n & (self.n - 1):
            raise ValueError(f"scrypt n must be a power of two >= {MIN_SCRYPT_N}")
        if len(self.salt) < 16:
            raise ValueError("scrypt salt must be at least 16 bytes")

    @classmethod
    def fresh(cls, n: int = DEFAULT_SCRYPT_N) -> KdfParameters:
        return cls(salt=os.urandom(16), n=n)

    def to_json(self) -> dict[str, object]:
        return {"alg": "scrypt", "n": self.n, "r": self.r, "p": self.p, "salt": _b64(self.salt)}

    @classmethod
    def from_json(cls, data: object) -> KdfParameters:
        if not isinstance(data, dict) or data.get("alg") != "scrypt":
            raise KeystoreUnavailable("sealed key uses an unknown key derivation function")
        try:
            return cls(salt=_unb64(data["salt"]), n=int(data["n"]), r=int(data["r"]), p=int(data["p"]))
        except (KeyError, TypeError, ValueError):
            raise KeystoreUnavailable("sealed key has invalid key derivation parameters") from None


class Sealer:
    """Derives KEKs from one passphrase (cached per parameter set) and seals/opens blobs."""

    def __init__(self, passphrase: bytes | Callable[[], bytes]) -> None:
        self._source = passphrase
        self._passphrase: bytes | None = None
        self._keks: dict[KdfParameters, AESGCM] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "Sealer(<passphrase hidden>)"

    def _secret(self) -> bytes:
        if self._passphrase is None:
            value = self._source() if callable(self._source) else self._source
            if not value:
                raise KeystoreUnavailable("no key store passphrase given (set CHANCERY_KEY_PASSPHRASE)")
            self._passphrase = value
        return self._passphrase

    def _kek(self, params: KdfParameters) -> AESGCM:
        with self._lock:
            kek = self._keks.get(params)
            if kek is None:
                kdf = Scrypt(salt=params.salt, length=32, n=params.n, r=params.r, p=params.p)
                kek = AESGCM(kdf.derive(self._secret()))
                self._keks[params] = kek
            return kek

    def make_check(self, params: KdfParameters) -> str:
        """A token that later proves a passphrase right or wrong before any key is opened.

        Made once, when a key store is created: that is when a weak passphrase is refused.
        """
        if len(self._secret()) < MIN_PASSPHRASE_LENGTH:
            raise KeystoreUnavailable(f"choose a key store passphrase of at least {MIN_PASSPHRASE_LENGTH} characters")
        nonce = os.urandom(12)
        ct = self._kek(params).encrypt(nonce, _CHECK_PLAINTEXT, CHECK_FORMAT.encode())
        return json.dumps({"format": CHECK_FORMAT, "kdf": params.to_json(), "nonce": _b64(nonce), "ct": _b64(ct)})

    def verify_check(self, check: str) -> KdfParameters:
        """Return the store's KDF parameters; raise :class:`WrongPassphrase` unless this passphrase made ``check``."""
        doc = _load_json(check, CHECK_FORMAT)
        params = KdfParameters.from_json(doc.get("kdf"))
        try:
            self._kek(params).decrypt(_unb64(doc["nonce"]), _unb64(doc["ct"]), CHECK_FORMAT.encode())
        except InvalidTag:
            raise WrongPassphrase("wrong key store passphrase (CHANCERY_KEY_PASSPHRASE)") from None
        except (KeyError, ValueError):
            raise KeystoreUnavailable("the key store passphrase check is damaged") from None
        return params

    def seal(self, plaintext: bytes, key_id: str, key_type: str, params: KdfParameters) -> str:
        """Encrypt ``plaintext`` (a PKCS#8 DER key) into a self-describing JSON blob."""
        nonce = os.urandom(12)
        ct = self._kek(params).encrypt(nonce, plaintext, _aad(key_id, key_type))
        return json.dumps(
            {
                "format": BLOB_FORMAT,
                "key_id": key_id,
                "key_type": key_type,
                "kdf": params.to_json(),
                "cipher": "AES-256-GCM",
                "nonce": _b64(nonce),
                "ciphertext": _b64(ct),
            }
        )

    def open(self, blob: str, key_id: str) -> tuple[str, bytes]:
        """Return ``(key_type, plaintext)``; raise :class:`WrongPassphrase` or :class:`KeystoreUnavailable`."""
        doc = _load_json(blob, BLOB_FORMAT)
        if doc.get("cipher") != "AES-256-GCM" or doc.get("key_id") != key_id:
            raise KeystoreUnavailable(f"sealed key {key_id} is damaged or was moved")
        key_type = str(doc.get("key_type"))
        params = KdfParameters.from_json(doc.get("kdf"))
        try:
            plaintext = self._kek(params).decrypt(
                _unb64(doc["nonce"]), _unb64(doc["ciphertext"]), _aad(key_id, key_type)
            )
        except InvalidTag:
            raise WrongPassphrase(
                f"sealed key {key_id} does not open: wrong key store passphrase, or the blob was altered"
            ) from None
        except (KeyError, ValueError):
            raise KeystoreUnavailable(f"sealed key {key_id} is damaged") from None
        return key_type, plaintext


def _aad(key_id: str, key_type: str) -> bytes:
    return f"{BLOB_FORMAT}|{key_id}|{key_type}".encode()


def _load_json(text: str, expected_format: str) -> dict[str, object]:
    try:
        doc = json.loads(text)
    except ValueError:
        raise KeystoreUnavailable("sealed key data is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != expected_format:
        raise KeystoreUnavailable(f"sealed data is not in the {expected_format} format")
    return doc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(data: object) -> bytes:
    if not isinstance(data, str):
        raise ValueError("expected base64 text")
    return base64.b64decode(data.encode("ascii"), validate=True)
