"""RSA as EMV uses it: public keys, the public operation (recovery), and the raw private operation.

EMV Book 2 Annex B2.1 limits the keys: a modulus of at most 1984 bits (248 bytes) and a public
exponent of 3 or 2^16 + 1. Certificates and signed data are blocks exactly as long as the
modulus, signed with the bare private operation (no padding: the block carries its own header,
hash and trailer; PKCS#11 calls it CKM_RSA_X_509) and recovered with the bare public operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from chancery.emv.errors import EmvError, Reason

__all__ = [
    "ALLOWED_EXPONENTS",
    "MAX_MODULUS_LENGTH",
    "MIN_MODULUS_LENGTH",
    "EmvPublicKey",
    "PublicNumbers",
    "RawSigner",
    "exponent_bytes",
    "parse_exponent",
    "recover",
    "signer_public_key",
]

MIN_MODULUS_LENGTH = 64  # 512 bits: the smallest key the certificate layouts can carry
MAX_MODULUS_LENGTH = 248  # 1984 bits, EMV Book 2 Annex B2.1
_EXPONENT_BYTES = {3: b"\x03", 65537: b"\x01\x00\x01"}
ALLOWED_EXPONENTS = tuple(_EXPONENT_BYTES)  # EMV Book 2 Annex B2.1


def exponent_bytes(exponent: int) -> bytes:
    """The exponent as EMV stores it (tags 9F32, 9F47; the CA key check value): '03' or '010001'."""
    try:
        return _EXPONENT_BYTES[exponent]
    except KeyError:
        raise EmvError(Reason.BAD_EXPONENT, "an EMV RSA exponent is 3 or 65537 (Book 2 Annex B2.1)") from None


def parse_exponent(value: bytes) -> int:
    """3 from '03', 65537 from '010001'; ``bad-exponent`` for anything else (2, 17, '0003'...)."""
    for exponent, encoded in _EXPONENT_BYTES.items():
        if value == encoded:
            return exponent
    raise EmvError(Reason.BAD_EXPONENT, "an EMV RSA exponent is '03' or '010001' (Book 2 Annex B2.1)")


class PublicNumbers(NamedTuple):
    n: int
    e: int


@dataclass(frozen=True)
class EmvPublicKey:
    """An RSA public key EMV allows: modulus of 64 to 248 bytes with its top bit set (so that
    every block starting '6A' is below it), odd; exponent 3 or 65537 (Book 2 Annex B2.1)."""

    modulus: bytes
    exponent: int

    def __post_init__(self) -> None:
        if not isinstance(self.modulus, bytes):
            raise TypeError("the modulus must be bytes")
        exponent_bytes(self.exponent)
        length = len(self.modulus)
        if length > MAX_MODULUS_LENGTH:
            raise EmvError(Reason.MODULUS_TOO_LONG, f"an EMV RSA modulus has at most {MAX_MODULUS_LENGTH} bytes")
        if length < MIN_MODULUS_LENGTH or not self.modulus[0] & 0x80 or not self.modulus[-1] & 1:
            raise EmvError(
                Reason.BAD_MODULUS, f"an EMV RSA modulus is odd, {MIN_MODULUS_LENGTH} bytes or more, top bit set"
            )

    @classmethod
    def from_numbers(cls, n: int, e: int) -> EmvPublicKey:
        if n <= 0 or n.bit_length() > 8 * MAX_MODULUS_LENGTH:
            raise EmvError(Reason.MODULUS_TOO_LONG, f"an EMV RSA modulus has at most {MAX_MODULUS_LENGTH} bytes")
        return cls(n.to_bytes((n.bit_length() + 7) // 8, "big"), e)

    @property
    def length(self) -> int:
        """Modulus length in bytes (N_CA, N_I or N_IC in Book 2)."""
        return len(self.modulus)

    @property
    def n(self) -> int:
        return int.from_bytes(self.modulus, "big")

    @property
    def exponent_bytes(self) -> bytes:
        return exponent_bytes(self.exponent)

    def __repr__(self) -> str:
        return f"EmvPublicKey({8 * self.length} bits, e={self.exponent}, modulus={self.modulus[:4].hex().upper()}...)"


def recover(key: EmvPublicKey, signed: bytes) -> bytes:
    """The recovery function (Book 2 Annex A2.1): ``signed^e mod n``, as many bytes as the modulus.

    ``wrong-length`` unless ``signed`` is exactly as long as the modulus; ``out-of-range`` unless
    it is numerically below it.
    """
    if len(signed) != key.length:
        raise EmvError(Reason.WRONG_LENGTH, f"a block signed by this key has {key.length} bytes, not {len(signed)}")
    value = int.from_bytes(signed, "big")
    n = key.n
    if value >= n:
        raise EmvError(Reason.OUT_OF_RANGE, "the signed block is not below the modulus")
    return pow(value, key.exponent, n).to_bytes(key.length, "big")


@runtime_checkable
class RawSigner(Protocol):
    """An RSA private key used without padding (CKM_RSA_X_509): the key store's raw RSA keys
    (:class:`chancery.keys.base.RawRsaKey`) satisfy it as they are.

    ``sign_raw`` returns ``block^d mod n`` for a block exactly ``modulus_length`` bytes long and
    below the modulus, as ``modulus_length`` bytes.
    """

    @property
    def modulus(self) -> int: ...

    @property
    def public_exponent(self) -> int: ...

    @property
    def modulus_length(self) -> int:
        """Bytes."""
        ...

    def sign_raw(self, block: bytes) -> bytes: ...


def signer_public_key(signer: RawSigner) -> EmvPublicKey:
    """The :class:`EmvPublicKey` of a signer, e.g. a key store's raw RSA key, to publish or to
    certify (``bad-modulus``, ``bad-exponent``, ``modulus-too-long`` if EMV does not allow it)."""
    return EmvPublicKey.from_numbers(signer.modulus, signer.public_exponent)
