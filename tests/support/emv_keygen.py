"""Test and benchmark keys for EMV (production keys come from ``chancery.keys.raw_rsa``): any length from 512 to 1984 bits in steps of 8, exponent 3 or 65537.

EMV Book 2 Annex B2.1 allows exponent 3, which key generators of general-purpose libraries
increasingly refuse, and lengths below 1024 bits (still used by test schemes); so the primes are
found here: random candidates from :mod:`secrets` with their two top bits set (so that n has
exactly the requested length), a small-prime sieve, gcd(e, p - 1) = 1, then Miller-Rabin. The
key is assembled with :class:`~cryptography.hazmat.primitives.asymmetric.rsa.RSAPrivateNumbers`.
"""

from __future__ import annotations

import math
import secrets

from cryptography.hazmat.primitives.asymmetric import rsa

from chancery.emv.errors import EmvError, Reason
from chancery.emv.rsa import EmvPublicKey, PublicNumbers
from chancery.keys.raw_rsa import SoftwareRawRsaKey

MIN_BITS = 512
MAX_BITS = 1984  # EMV Book 2 Annex B2.1 (N_CA <= 248 bytes)
ALLOWED_EXPONENTS = (3, 65537)  # EMV Book 2 Annex B2.1
# Candidates are random, not chosen by an adversary: for random candidates of 250 bits or more,
# 12 rounds bound the error below 2^-80 (Handbook of Applied Cryptography, Table 4.4); 16 adds margin.
MILLER_RABIN_ROUNDS = 16


def _small_primes(limit: int) -> list[int]:
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for i in range(2, math.isqrt(limit) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(range(i * i, limit, i)))
    return [i for i in range(3, limit) if sieve[i]]


_SMALL_PRIMES = _small_primes(4096)
_PRIMORIAL = math.prod(_SMALL_PRIMES)  # odd primes below 4096: one gcd sieves a candidate


def check_key_parameters(bits: int, exponent: int) -> None:
    """``bad-key-size`` unless ``bits`` is a multiple of 8 from 512 to 1984; ``bad-exponent``
    unless ``exponent`` is 3 or 65537 (EMV Book 2 Annex B2.1)."""
    if not isinstance(bits, int) or not MIN_BITS <= bits <= MAX_BITS or bits % 8:
        raise EmvError(Reason.BAD_KEY_SIZE, f"an EMV RSA key has {MIN_BITS} to {MAX_BITS} bits, a multiple of 8")
    if exponent not in ALLOWED_EXPONENTS:
        raise EmvError(Reason.BAD_EXPONENT, "an EMV RSA exponent is 3 or 65537 (Book 2 Annex B2.1)")


def is_probable_prime(n: int, rounds: int = MILLER_RABIN_ROUNDS) -> bool:
    """Miller-Rabin with ``rounds`` random bases (after trial division by the small primes).

    The default number of rounds suits random candidates of 256 bits or more, as generated here.
    """
    if n < 2:
        return False
    if n < 4096:
        return n == 2 or n in _SMALL_PRIMES
    if n % 2 == 0 or math.gcd(n, _PRIMORIAL) != 1:
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        x = pow(2 + secrets.randbelow(n - 3), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, exponent: int) -> int:
    top = 3 << (bits - 2)  # the two top bits: p * q then has exactly 2 * bits bits
    while True:
        candidate = secrets.randbits(bits) | top | 1
        if math.gcd(candidate, _PRIMORIAL) != 1 or math.gcd(exponent, candidate - 1) != 1:
            continue
        if is_probable_prime(candidate):
            return candidate


def generate_emv_rsa_key(bits: int, exponent: int) -> rsa.RSAPrivateKey:
    """A new RSA key of exactly ``bits`` bits and public exponent ``exponent``.

    Raises ``bad-key-size`` / ``bad-exponent`` (see :func:`check_key_parameters`). The primes
    differ in their top 100 bits at least (FIPS 186-5 A.1.3 asks |p - q| > 2^(bits/2 - 100)), and
    d is above 2^(bits/2).
    """
    check_key_parameters(bits, exponent)
    half = bits // 2
    while True:
        p, q = _prime(half, exponent), _prime(half, exponent)
        if abs(p - q) <= 1 << (half - 100):
            continue
        lam = math.lcm(p - 1, q - 1)
        d = pow(exponent, -1, lam)
        if d <= 1 << half:
            continue
        if p < q:
            p, q = q, p
        numbers = rsa.RSAPrivateNumbers(
            p=p,
            q=q,
            d=d,
            dmp1=d % (p - 1),
            dmq1=d % (q - 1),
            iqmp=pow(q, -1, p),
            public_numbers=rsa.RSAPublicNumbers(exponent, p * q),
        )
        return numbers.private_key()


class SoftwareRawSigner(SoftwareRawRsaKey):
    """The key store's raw RSA key over an in-memory key (any length from 512 bits), for tests:
    bad blocks are refused with the EMV reason (``wrong-length``, ``out-of-range``)."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        super().__init__("test", private_key)

    @classmethod
    def generate(cls, bits: int, exponent: int) -> SoftwareRawSigner:
        return cls(generate_emv_rsa_key(bits, exponent))

    @property
    def public_numbers(self) -> PublicNumbers:
        return PublicNumbers(self.modulus, self.public_exponent)

    def public_key(self) -> EmvPublicKey:
        return EmvPublicKey.from_numbers(self.modulus, self.public_exponent)

    def sign_raw(self, block: bytes) -> bytes:
        if len(block) != self.modulus_length:
            raise EmvError(
                Reason.WRONG_LENGTH, f"a block for this key has {self.modulus_length} bytes, not {len(block)}"
            )
        if int.from_bytes(block, "big") >= self.modulus:
            raise EmvError(Reason.OUT_OF_RANGE, "the block is not below the modulus")
        return super().sign_raw(block)
