"""RSA keys for EMV: any length from 1024 to 1984 bits in steps of 8, exponent 3 or 65537,
used with the bare private operation (no padding), computed with the CRT.

EMV Book 2 §5.1 and Annex A2.1 (1984 bits at most, exponent 3 or 2^16 + 1) set the limits.
The private operation is the one a PKCS#11 token performs for CKM_RSA_X_509; GMP (gmpy2)
does the modular exponentiations, about ten times faster than Python's ``pow`` on these sizes.
"""

from __future__ import annotations

import gmpy2
from cryptography.hazmat.primitives.asymmetric import rsa

from chancery.errors import InternalError, Malformed
from chancery.keys.handles import RawRsaPublic

MIN_BITS = 1024
MAX_BITS = 1984  # EMV Book 2 Annex A2.1
EXPONENTS = (3, 65537)
RAW_RSA_KEY_TYPE = "rsa-raw"  # how sealed blobs of these keys are labelled


def check_parameters(bits: int, exponent: int) -> None:
    """Raise :class:`Malformed` unless EMV allows this length and exponent."""
    if not MIN_BITS <= bits <= MAX_BITS or bits % 8:
        raise Malformed(f"an EMV RSA key has {MIN_BITS} to {MAX_BITS} bits, a multiple of 8 (not {bits})")
    if exponent not in EXPONENTS:
        raise Malformed(f"an EMV RSA exponent is 3 or 65537 (not {exponent})")


def generate(bits: int, exponent: int) -> rsa.RSAPrivateKey:
    check_parameters(bits, exponent)
    return rsa.generate_private_key(public_exponent=exponent, key_size=bits)


class SoftwareRawRsaKey(RawRsaPublic):
    """A :class:`~chancery.keys.base.RawRsaKey` held in memory (opened from its sealed blob)."""

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey) -> None:
        numbers = private_key.private_numbers()
        super().__init__(key_id, numbers.public_numbers.n, numbers.public_numbers.e)
        self._p, self._q = gmpy2.mpz(numbers.p), gmpy2.mpz(numbers.q)
        self._dp, self._dq, self._qinv = gmpy2.mpz(numbers.dmp1), gmpy2.mpz(numbers.dmq1), gmpy2.mpz(numbers.iqmp)
        self._n_mpz = gmpy2.mpz(self._n)

    def sign_raw(self, block: bytes) -> bytes:
        """``block^d mod n`` by the CRT (Garner); the block must be as long as the modulus, and below it."""
        m = self.checked_block(block)
        value = gmpy2.mpz(m)
        s1 = gmpy2.powmod(value, self._dp, self._p)
        s2 = gmpy2.powmod(value, self._dq, self._q)
        h = (self._qinv * (s1 - s2)) % self._p
        signature = s2 + h * self._q
        # A faulty CRT result would leak a factor of n (Boneh, DeMillo, Lipton): check before release.
        if gmpy2.powmod(signature, self._e, self._n_mpz) != value:
            raise InternalError("the raw RSA operation failed its check")
        return int(signature).to_bytes(self._length, "big")
