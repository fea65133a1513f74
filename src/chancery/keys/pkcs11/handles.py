"""Handles of keys that stay in the token: a :class:`~chancery.keys.base.KeyHandle` for X.509
signing and a :class:`~chancery.keys.base.RawRsaKey` for EMV (CKM_RSA_X_509)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pkcs11 import Mechanism

from chancery.domain.keytypes import KeyType
from chancery.keys.handles import RawRsaPublic, SigningKeyHandle
from chancery.keys.pkcs11.adapters import stand_in
from chancery.keys.pkcs11.connection import TokenConnection


class _TokenKey:
    """One private key in the token, found by CKA_ID in whichever pooled session signs."""

    def __init__(self, connection: TokenConnection, key_id: str, cka_id: bytes) -> None:
        self._connection = connection
        self._key_id = key_id
        self._cka_id = cka_id

    def token_sign(self, mechanism: Mechanism, data: bytes, param: Any) -> bytes:
        with self._connection.signing_session(f"signing with {self._key_id}") as pooled:
            key = pooled.private_key(self._cka_id)
            return bytes(key.sign(data, mechanism=mechanism, mechanism_param=param))


class Pkcs11KeyHandle(SigningKeyHandle):
    """A CA key in the token. ``sign_builder`` hands pyca/cryptography a stand-in private key
    (:mod:`chancery.keys.pkcs11.adapters`) whose ``sign`` goes to the token."""

    def __init__(
        self, connection: TokenConnection, key_id: str, cka_id: bytes, key_type: KeyType, public: PublicKeyTypes
    ) -> None:
        token = _TokenKey(connection, key_id, cka_id)
        super().__init__(key_id, key_type, stand_in(public, token.token_sign), public, on_device=True)


class Pkcs11RawRsaKey(RawRsaPublic):
    """An EMV key in the token: the bare RSA private operation (CKM_RSA_X_509, EMV Book 2 §A2.1)."""

    def __init__(self, connection: TokenConnection, key_id: str, cka_id: bytes, public: rsa.RSAPublicKey) -> None:
        numbers = public.public_numbers()
        super().__init__(key_id, numbers.n, numbers.e)
        self._token = _TokenKey(connection, key_id, cka_id)

    def sign_raw(self, block: bytes) -> bytes:
        """``block^d mod n`` in the token; the block is as long as the modulus, and below it."""
        self.checked_block(block)
        signature = self._token.token_sign(Mechanism.RSA_X_509, block, None)
        return signature.rjust(self._length, b"\x00")
