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


class SoftwareRawSigner:
    """A :class:`RawSigner` over an in-memory pyca/cryptography key, for tests and benchmarks.

    The private operation uses the CRT (Garner's recombination with p, q, dP, dQ, qInv); callers
    that release signatures check them against the public operation (``framing.sign_block``
    does), so a fault cannot leak the key.
    """

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        numbers = private_key.private_numbers()
        self._n = numbers.public_numbers.n
        self._e = numbers.public_numbers.e
        self._p, self._q = numbers.p, numbers.q
        self._dp, self._dq, self._qinv = numbers.dmp1, numbers.dmq1, numbers.iqmp
        self._length = (self._n.bit_length() + 7) // 8

    @classmethod
    def generate(cls, bits: int, exponent: int) -> SoftwareRawSigner:
        return cls(generate_emv_rsa_key(bits, exponent))

    def __repr__(self) -> str:
        return f"SoftwareRawSigner({self._n.bit_length()} bits, e={self._e})"

    @property
    def modulus(self) -> int:
        return self._n

    @property
    def public_exponent(self) -> int:
        return self._e

    @property
    def modulus_length(self) -> int:
        return self._length

    @property
    def public_numbers(self) -> PublicNumbers:
        return PublicNumbers(self._n, self._e)

    def public_key(self) -> EmvPublicKey:
        return EmvPublicKey.from_numbers(self._n, self._e)

    def sign_raw(self, block: bytes) -> bytes:
        if len(block) != self._length:
            raise EmvError(Reason.WRONG_LENGTH, f"a block for this key has {self._length} bytes, not {len(block)}")
        m = int.from_bytes(block, "big")
        if m >= self._n:
            raise EmvError(Reason.OUT_OF_RANGE, "the block is not below the modulus")
        s_p = pow(m, self._dp, self._p)
        s_q = pow(m, self._dq, self._q)
        h = (self._qinv * (s_p - s_q)) % self._p
        return (s_q + h * self._q).to_bytes(self._length, "big")
