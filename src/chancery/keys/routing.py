"""Routing each key call to the store that holds the key.

The key id says where a key lives (``pkcs11:<hex CKA_ID>``: the token; anything else: the
software store). New keys go to the software store unless the caller names another
(:meth:`KeyRouter.generate_in`): end-entity keys, the audit key and sealed secrets stay in
software, a CA may put its key in the HSM. Keys in the HSM are never exported.
"""

from __future__ import annotations

from typing import Protocol

from chancery.domain.keystores import KeyLocation, location_of
from chancery.domain.keytypes import KeyType
from chancery.errors import Forbidden, Malformed
from chancery.keys.base import KeyHandle, KeyPurpose, KeyStore, Pkcs12Request, RawRsaKey


class SoftwareStore(KeyStore, Protocol):
    def decrypt_key_transport(self, key_id: str, ciphertext: bytes) -> bytes: ...


class HsmStore(KeyStore, Protocol):
    def decrypt_key_transport(self, key_id: str, ciphertext: bytes) -> bytes: ...

    def adopt(self, label: str, purpose: KeyPurpose) -> KeyHandle: ...

    def close(self) -> None: ...


class KeyRouter:
    """Satisfies :class:`~chancery.keys.base.KeyRouting` over the software store and the HSM."""

    def __init__(self, software: SoftwareStore, hsm: HsmStore) -> None:
        self._software = software
        self._hsm = hsm

    def __repr__(self) -> str:
        return "KeyRouter(software, pkcs11)"

    def _store(self, location: KeyLocation) -> KeyStore:
        return self._hsm if location is KeyLocation.PKCS11 else self._software

    def _holder(self, key_id: str) -> KeyStore:
        return self._store(location_of(key_id))

    def generate(self, key_type: KeyType, purpose: KeyPurpose) -> KeyHandle:
        return self._software.generate(key_type, purpose)

    def generate_in(self, location: KeyLocation, key_type: KeyType, purpose: KeyPurpose) -> KeyHandle:
        return self._store(location).generate(key_type, purpose)

    def generate_raw_rsa(self, bits: int, exponent: int) -> RawRsaKey:
        return self._software.generate_raw_rsa(bits, exponent)

    def generate_raw_rsa_in(self, location: KeyLocation, bits: int, exponent: int) -> RawRsaKey:
        return self._store(location).generate_raw_rsa(bits, exponent)

    def adopt(self, label: str, purpose: KeyPurpose) -> KeyHandle:
        if not label or len(label) > 256:
            raise Malformed("give the label of the key to adopt (at most 256 characters)")
        return self._hsm.adopt(label, purpose)

    def load(self, key_id: str) -> KeyHandle:
        return self._holder(key_id).load(key_id)

    def load_raw_rsa(self, key_id: str) -> RawRsaKey:
        return self._holder(key_id).load_raw_rsa(key_id)

    def export_pkcs12(self, key_id: str, request: Pkcs12Request) -> bytes:
        if location_of(key_id) is KeyLocation.PKCS11:
            raise Forbidden("keys in the HSM are never exported")
        return self._software.export_pkcs12(key_id, request)

    def decrypt_key_transport(self, key_id: str, ciphertext: bytes) -> bytes:
        """Open a CMS key transport (RSA PKCS#1 v1.5) with a SCEP RA key, wherever it is."""
        holder: SoftwareStore | HsmStore = self._hsm if location_of(key_id) is KeyLocation.PKCS11 else self._software
        return holder.decrypt_key_transport(key_id, ciphertext)

    def destroy(self, key_id: str) -> None:
        self._holder(key_id).destroy(key_id)

    def purpose(self, key_id: str) -> KeyPurpose:
        return self._holder(key_id).purpose(key_id)

    def close(self) -> None:
        self._hsm.close()
