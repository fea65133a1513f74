"""Shamir secret sharing over GF(2^8), byte by byte.

The field is the one AES uses (FIPS 197 §4.2): bytes are polynomials over
GF(2) reduced modulo m(x) = x^8 + x^4 + x^3 + x + 1 (0x11B). Each byte of the
secret is the constant term of its own random polynomial of degree
``threshold - 1``; share ``i`` holds that polynomial evaluated at x = i for
every byte (Shamir, "How to share a secret", CACM 22(11), 1979). Any
``threshold`` shares give the secret back by Lagrange interpolation at x = 0;
fewer give no information about it, because every coefficient above the
constant term is drawn uniformly (a leading coefficient forced to be non-zero,
as some implementations do, would let ``threshold - 1`` shares rule out one
value per byte).

This module is pure arithmetic: it neither stores nor logs anything. Field
operations use shift-and-xor without secret-dependent table lookups; Python
gives no constant-time guarantee, so shares are combined only on the machine
that is entitled to the secret.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_SHARES = 255
_REDUCTION = 0x11B  # FIPS 197 §4.2: m(x) = x^8 + x^4 + x^3 + x + 1


@dataclass(frozen=True)
class Share:
    """One custodian's share: the x coordinate ``index`` (1..255) and one y byte per secret byte."""

    index: int
    value: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.index, int) or not 1 <= self.index <= MAX_SHARES:
            raise ValueError("a share index is between 1 and 255")
        if not isinstance(self.value, bytes) or not self.value:
            raise ValueError("a share value is a non-empty byte string")

    def __repr__(self) -> str:
        return f"Share(index={self.index}, value=<{len(self.value)} bytes hidden>)"


def gf_mul(a: int, b: int) -> int:
    """Multiply two field elements (FIPS 197 §4.2: polynomial product modulo 0x11B)."""
    product = 0
    for _ in range(8):
        product ^= a & -(b & 1)
        b >>= 1
        a = (a << 1) ^ (_REDUCTION & -(a >> 7))
    return product


def gf_inv(a: int) -> int:
    """Return the multiplicative inverse (FIPS 197 §4.2: a^254, since a^255 = 1); 0 has none."""
    if not 1 <= a <= 0xFF:
        raise ValueError("only a non-zero field element has an inverse")
    result, base, exponent = 1, a, 254
    while exponent:
        if exponent & 1:
            result = gf_mul(result, base)
        base = gf_mul(base, base)
        exponent >>= 1
    return result


def split(
    secret: bytes,
    threshold: int,
    shares: int,
    random: Callable[[int], bytes] = secrets.token_bytes,
) -> list[Share]:
    """Split ``secret`` into ``shares`` shares (x = 1..shares), any ``threshold`` of which recover it.

    ``random(n)`` must return ``n`` uniformly random bytes; it is called once per
    coefficient degree (1 .. threshold-1), each call giving that coefficient for
    every byte of the secret. Raises ``ValueError`` for an empty secret or when
    not ``1 <= threshold <= shares <= 255``.
    """
    if not isinstance(secret, bytes) or not secret:
        raise ValueError("the secret is a non-empty byte string")
    if not 1 <= threshold <= shares <= MAX_SHARES:
        raise ValueError("need 1 <= threshold <= shares <= 255")
    rows = [secret]
    for _ in range(threshold - 1):
        row = random(len(secret))
        if len(row) != len(secret):
            raise ValueError("the random source returned the wrong number of bytes")
        rows.append(row)
    return [Share(x, _evaluate(rows, x)) for x in range(1, shares + 1)]


def combine(shares: Sequence[Share]) -> bytes:
    """Recover the secret from shares by Lagrange interpolation at x = 0.

    Given at least the threshold number of shares from one split, returns the
    secret; given fewer, or shares from different splits, returns unrelated
    bytes (the caller authenticates the result). Raises ``ValueError`` for no
    shares, a repeated index, or values of different lengths.
    """
    if not shares:
        raise ValueError("no shares to combine")
    xs = [share.index for share in shares]
    if len(set(xs)) != len(xs):
        raise ValueError("the same share index appears twice")
    length = len(shares[0].value)
    if any(len(share.value) != length for share in shares):
        raise ValueError("shares have different lengths")
    weights = [_lagrange_weight_at_zero(xs, i) for i in range(len(xs))]
    secret = bytearray(length)
    for share, weight in zip(shares, weights, strict=True):
        for position, y in enumerate(share.value):
            secret[position] ^= gf_mul(y, weight)
    return bytes(secret)


def _evaluate(rows: Sequence[bytes], x: int) -> bytes:
    """Evaluate every byte's polynomial at ``x`` with Horner's rule (addition is xor)."""
    out = bytearray(len(rows[0]))
    for position in range(len(out)):
        y = 0
        for row in reversed(rows):
            y = gf_mul(y, x) ^ row[position]
        out[position] = y
    return bytes(out)


def _lagrange_weight_at_zero(xs: Sequence[int], i: int) -> int:
    """Return l_i(0) = prod_{j != i} x_j / (x_j - x_i); subtraction is xor in GF(2^8)."""
    numerator, denominator = 1, 1
    for j, xj in enumerate(xs):
        if j != i:
            numerator = gf_mul(numerator, xj)
            denominator = gf_mul(denominator, xj ^ xs[i])
    return gf_mul(numerator, gf_inv(denominator))
