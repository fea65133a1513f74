"""What every key handle shares, whichever store holds the key.

:class:`SigningKeyHandle` is a :class:`~chancery.keys.base.KeyHandle` over an object with
pyca/cryptography's private key interface: the key itself (software store) or a stand-in whose
``sign`` goes to a token (PKCS#11). :class:`RawRsaPublic` is what every
:class:`~chancery.keys.base.RawRsaKey` knows of its public half, and the checks a block passes
before the private operation (EMV Book 2 Annex A2.1: as long as the modulus, and below it).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from chancery.domain.keytypes import KeyType
from chancery.errors import Malformed
from chancery.keys.base import Signable, T_co
from chancery.keys.generation import sign_as_x509


class SigningKeyHandle:
    def __init__(
        self, key_id: str, key_type: KeyType, signing_key: PrivateKeyTypes, public: PublicKeyTypes, on_device: bool
    ) -> None:
        self._key_id = key_id
        self._key_type = key_type
        self._signing_key = signing_key
        self._public = public
        self._on_device = on_device

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._key_id!r}, {self._key_type.value})"

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def key_type(self) -> KeyType:
        return self._key_type

    @property
    def signs_on_device(self) -> bool:
        return self._on_device

    def public_key(self) -> PublicKeyTypes:
        return self._public

    def sign_builder(
        self,
        builder: Signable[T_co],
        algorithm: hashes.HashAlgorithm | None,
        rsa_padding: AsymmetricPadding | None = None,
    ) -> T_co:
        if rsa_padding is None:
            return builder.sign(self._signing_key, algorithm)
        return builder.sign(self._signing_key, algorithm, rsa_padding=rsa_padding)

    def sign(self, data: bytes, algorithm: hashes.HashAlgorithm | None) -> bytes:
        return sign_as_x509(self._signing_key, data, algorithm)


class RawRsaPublic:
    def __init__(self, key_id: str, n: int, e: int) -> None:
        self._key_id = key_id
        self._n = n
        self._e = e
        self._length = (n.bit_length() + 7) // 8

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._key_id!r}, {self._n.bit_length()} bits)"

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

    def checked_block(self, block: bytes) -> int:
        """``block`` as a number, if it is as long as the modulus and below it; else :class:`Malformed`."""
        if len(block) != self._length:
            raise Malformed(f"a raw RSA block for this key has {self._length} bytes, not {len(block)}")
        value = int.from_bytes(block, "big")
        if value >= self._n:
            raise Malformed("the block is not below the modulus")
        return value
