"""Handles of keys that stay in the token: a :class:`~chancery.keys.base.KeyHandle` for X.509
signing and a :class:`~chancery.keys.base.RawRsaKey` for EMV (CKM_RSA_X_509)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pkcs11 import Mechanism

from chancery.domain.keytypes import KeyType
from chancery.errors import Malformed
from chancery.keys.base import Signable, T_co
from chancery.keys.generation import sign_as_x509
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


class Pkcs11KeyHandle(_TokenKey):
    """A CA key in the token. ``sign_builder`` hands pyca/cryptography a stand-in private key
    (:mod:`chancery.keys.pkcs11.adapters`) whose ``sign`` goes to the token."""

    def __init__(
        self, connection: TokenConnection, key_id: str, cka_id: bytes, key_type: KeyType, public: PublicKeyTypes
    ) -> None:
        super().__init__(connection, key_id, cka_id)
        self._key_type = key_type
        self._public = public
        self._private = stand_in(public, self.token_sign)

    def __repr__(self) -> str:
        return f"Pkcs11KeyHandle({self._key_id!r}, {self._key_type.value})"

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def key_type(self) -> KeyType:
        return self._key_type

    @property
    def signs_on_device(self) -> bool:
        return True

    def public_key(self) -> PublicKeyTypes:
        return self._public

    def sign_builder(
        self,
        builder: Signable[T_co],
        algorithm: hashes.HashAlgorithm | None,
        rsa_padding: AsymmetricPadding | None = None,
    ) -> T_co:
        if rsa_padding is None:
            return builder.sign(self._private, algorithm)
        return builder.sign(self._private, algorithm, rsa_padding=rsa_padding)

    def sign(self, data: bytes, algorithm: hashes.HashAlgorithm | None) -> bytes:
        return sign_as_x509(self._private, data, algorithm)


class Pkcs11RawRsaKey(_TokenKey):
    """An EMV key in the token: the bare RSA private operation (CKM_RSA_X_509, EMV Book 2 §A2.1)."""

    def __init__(self, connection: TokenConnection, key_id: str, cka_id: bytes, public: rsa.RSAPublicKey) -> None:
        super().__init__(connection, key_id, cka_id)
        numbers = public.public_numbers()
        self._n, self._e = numbers.n, numbers.e
        self._length = (self._n.bit_length() + 7) // 8

    def __repr__(self) -> str:
        return f"Pkcs11RawRsaKey({self._key_id!r}, {self._n.bit_length()} bits)"

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def modulus(self) -> int:
        return self._n

    @property
    def public_exponent(self) -> int:
        return self._e

    @property
    def modulus_length(self) -> int:
        return self._length

    def sign_raw(self, block: bytes) -> bytes:
        """``block^d mod n`` in the token; the block is as long as the modulus, and below it."""
        if len(block) != self._length:
            raise Malformed(f"a raw RSA block for this key has {self._length} bytes, not {len(block)}")
        if int.from_bytes(block, "big") >= self._n:
            raise Malformed("the block is not below the modulus")
        signature = self.token_sign(Mechanism.RSA_X_509, block, None)
        return signature.rjust(self._length, b"\x00")
