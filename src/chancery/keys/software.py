"""The software key store: keys generated in this process, sealed at rest.

Each key is serialised as PKCS#8 DER in memory only and sealed (see
:mod:`chancery.keys.sealing`) before it is handed to a :class:`SealedKeyVault`
for storage. Opened keys are cached in memory for the life of the process.
"""

from __future__ import annotations

import secrets
import threading

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from chancery.domain.keytypes import KeyType
from chancery.errors import Forbidden, KeystoreUnavailable, Malformed, NotFound
from chancery.keys import raw_rsa
from chancery.keys.base import KeyHandle, KeyPurpose, Pkcs12Request, RawRsaKey
from chancery.keys.generation import generate_private_key
from chancery.keys.handles import SigningKeyHandle
from chancery.keys.sealing import DEFAULT_SCRYPT_N, KdfParameters, Sealer
from chancery.keys.vault import SealedKey, SealedKeyVault


class SoftwareKeyHandle(SigningKeyHandle):
    """A key opened from its sealed blob, held in memory."""

    def __init__(self, key_id: str, key_type: KeyType, private_key: PrivateKeyTypes) -> None:
        super().__init__(key_id, key_type, private_key, private_key.public_key(), on_device=False)
        self._private_key = private_key

    def decrypt_pkcs1v15(self, ciphertext: bytes) -> bytes:
        if not isinstance(self._private_key, rsa.RSAPrivateKey):
            raise Malformed("only an RSA key opens an envelope")
        if len(ciphertext) != (self._private_key.key_size + 7) // 8:
            raise Malformed("the encrypted key is not as long as the RSA modulus")
        return self._private_key.decrypt(ciphertext, padding.PKCS1v15())

    def to_pkcs12(self, request: Pkcs12Request) -> bytes:
        """Serialise as PKCS#12 with PBES2 (AES-256-CBC, PBKDF2-SHA256) and a SHA-256 MAC (RFC 7292, RFC 8018)."""
        if self._public != request.certificate.public_key():
            raise ValueError("certificate does not match the key")
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(600_000)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(request.password)
        )
        return pkcs12.serialize_key_and_certificates(
            request.friendly_name.encode(),
            self._private_key,
            request.certificate,
            list(request.chain) or None,
            encryption,
        )


class SoftwareKeyStore:
    """Keys sealed with AES-256-GCM under a passphrase-derived KEK.

    The passphrase is given once; :meth:`unlock` proves it right (or raises
    :class:`~chancery.errors.WrongPassphrase`) before any key is used.
    """

    def __init__(self, vault: SealedKeyVault, sealer: Sealer, new_store_scrypt_n: int = DEFAULT_SCRYPT_N) -> None:
        self._vault = vault
        self._sealer = sealer
        self._new_store_scrypt_n = new_store_scrypt_n
        self._kdf: KdfParameters | None = None
        self._handles: dict[str, tuple[SoftwareKeyHandle, str]] = {}
        self._raw: dict[str, raw_rsa.SoftwareRawRsaKey] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "SoftwareKeyStore(<sealed>)"

    def is_initialised(self) -> bool:
        return self._vault.get_check() is not None

    @property
    def sealer(self) -> Sealer:
        """What seals and opens blobs now (re-keying opens with it before switching)."""
        return self._sealer

    def use_sealer(self, sealer: Sealer) -> None:
        """Seal and open with ``sealer`` from now on: the store's secret changed (:mod:`chancery.keys.quorum`).
        Keys already opened stay usable; the passphrase check is verified again at the next use."""
        with self._lock:
            self._sealer = sealer
            self._kdf = None

    def initialise(self) -> None:
        """Record the passphrase check (and KDF salt) of a new store; a no-op when one exists."""
        if self._vault.get_check() is None:
            self._vault.put_check(self._sealer.make_check(KdfParameters.fresh(self._new_store_scrypt_n)))
        self.unlock()

    def unlock(self) -> KdfParameters:
        """Verify the passphrase against the stored check (once per process)."""
        if self._kdf is not None:
            return self._kdf
        check = self._vault.get_check()
        if check is None:
            raise KeystoreUnavailable("the key store is not initialised; run `chancery init`")
        self._kdf = self._sealer.verify_check(check)
        return self._kdf

    def generate(self, key_type: KeyType, purpose: KeyPurpose) -> KeyHandle:
        kdf = self.unlock()
        private_key = generate_private_key(key_type)
        key_id = f"{purpose.value}-{secrets.token_hex(12)}"
        der = private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        blob = self._sealer.seal(der, key_id, key_type.value, kdf)
        self._vault.put_key(SealedKey(key_id=key_id, key_type=key_type.value, purpose=purpose.value, blob=blob))
        handle = SoftwareKeyHandle(key_id, key_type, private_key)
        with self._lock:
            self._handles[key_id] = (handle, purpose.value)
        return handle

    def generate_raw_rsa(self, bits: int, exponent: int) -> RawRsaKey:
        kdf = self.unlock()
        private_key = raw_rsa.generate(bits, exponent)
        key_id = f"{KeyPurpose.EMV.value}-{secrets.token_hex(12)}"
        der = private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        blob = self._sealer.seal(der, key_id, raw_rsa.RAW_RSA_KEY_TYPE, kdf)
        self._vault.put_key(
            SealedKey(key_id=key_id, key_type=raw_rsa.RAW_RSA_KEY_TYPE, purpose=KeyPurpose.EMV.value, blob=blob)
        )
        key = raw_rsa.SoftwareRawRsaKey(key_id, private_key)
        with self._lock:
            self._raw[key_id] = key
        return key

    def load_raw_rsa(self, key_id: str) -> RawRsaKey:
        with self._lock:
            cached = self._raw.get(key_id)
        if cached is not None:
            return cached
        sealed = self._vault.get_key(key_id)
        if sealed is None or sealed.purpose != KeyPurpose.EMV.value:
            raise NotFound(f"no EMV key {key_id} in the key store")
        self.unlock()
        key_type, der = self._sealer.open(sealed.blob, key_id)
        private_key = serialization.load_der_private_key(der, password=None) if key_type == sealed.key_type else None
        if key_type != raw_rsa.RAW_RSA_KEY_TYPE or not isinstance(private_key, rsa.RSAPrivateKey):
            raise KeystoreUnavailable(f"sealed key {key_id} holds no EMV RSA key")
        key = raw_rsa.SoftwareRawRsaKey(key_id, private_key)
        with self._lock:
            self._raw[key_id] = key
        return key

    def load(self, key_id: str) -> KeyHandle:
        return self._open(key_id)[0]

    def _open(self, key_id: str) -> tuple[SoftwareKeyHandle, str]:
        with self._lock:
            cached = self._handles.get(key_id)
        if cached is not None:
            return cached
        sealed = self._vault.get_key(key_id)
        if sealed is None:
            raise NotFound(f"no key {key_id} in the key store")
        self.unlock()
        key_type, der = self._sealer.open(sealed.blob, key_id)
        try:
            private_key = serialization.load_der_private_key(der, password=None)
        except ValueError:
            raise KeystoreUnavailable(f"sealed key {key_id} holds no valid key") from None
        if key_type == raw_rsa.RAW_RSA_KEY_TYPE:
            raise KeystoreUnavailable(f"key {key_id} is an EMV key: it makes EMV certificates only")
        opened = (SoftwareKeyHandle(key_id, KeyType(key_type), private_key), sealed.purpose)
        with self._lock:
            self._handles[key_id] = opened
        return opened

    def decrypt_key_transport(self, key_id: str, ciphertext: bytes) -> bytes:
        """RSA PKCS#1 v1.5 key transport (RFC 8017 §7.2.2) with a SCEP RA key, as CMS envelopes use it.

        A ciphertext with bad padding yields random bytes instead of an error (implicit
        rejection), so the caller cannot be made into a Bleichenbacher padding oracle.
        """
        handle, purpose = self._open(key_id)
        if purpose != KeyPurpose.SCEP_RA.value:
            raise Forbidden("only a SCEP RA key opens envelopes")
        return handle.decrypt_pkcs1v15(ciphertext)

    def export_pkcs12(self, key_id: str, request: Pkcs12Request) -> bytes:
        handle, purpose = self._open(key_id)
        if purpose != KeyPurpose.END_ENTITY.value:
            raise Forbidden("CA keys are never exported")
        return handle.to_pkcs12(request)

    def destroy(self, key_id: str) -> None:
        with self._lock:
            self._handles.pop(key_id, None)
        self._vault.delete_key(key_id)

    def purpose(self, key_id: str) -> KeyPurpose:
        return KeyPurpose(self._open(key_id)[1])

    def seal_secret(self, label: str, plaintext: bytes) -> str:
        """A small secret sealed like a key, under ``secret:<label>`` (it opens under that label only)."""
        return self._sealer.seal(plaintext, f"secret:{label}", _SECRET, self.unlock())

    def open_secret(self, label: str, blob: str) -> bytes:
        self.unlock()
        kind, plaintext = self._sealer.open(blob, f"secret:{label}")
        if kind != _SECRET:
            raise KeystoreUnavailable(f"sealed data under {label!r} is not a secret")
        return plaintext


_SECRET = "secret"  # noqa: S105 - the key type recorded for sealed secrets, not a secret
