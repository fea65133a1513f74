"""Certificate serial numbers (RFC 5280 §4.1.2.2, DESIGN.md invariant 2).

Serials are positive integers of at most 20 octets. New serials carry 127 bits
from the operating system's CSPRNG (16 random bytes with the top bit cleared),
well above the 64 bits the CA/Browser Forum requires. Uniqueness per issuer is
enforced by a database constraint, not here. Everywhere a serial is shown or
accepted it is lower-case hexadecimal without separators.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from chancery.errors import Malformed

_MAX_OCTETS = 20
_HEX = re.compile(r"^[0-9a-f]{1,40}$")


@dataclass(frozen=True, order=True)
class SerialNumber:
    """A validated certificate serial number."""

    value: int

    def __post_init__(self) -> None:
        if not isinstance(self.value, int) or isinstance(self.value, bool):
            raise TypeError("serial number must be an int")
        if self.value <= 0:
            raise ValueError("serial number must be positive (RFC 5280 §4.1.2.2)")
        # DER INTEGER of a positive value may need a leading zero octet; 20 octets in all.
        if (self.value.bit_length() + 8) // 8 > _MAX_OCTETS:
            raise ValueError("serial number longer than 20 octets (RFC 5280 §4.1.2.2)")

    @classmethod
    def from_hex(cls, text: str) -> SerialNumber:
        """Parse lower- or upper-case hex, with or without ':' separators.

        Raises :class:`Malformed` for anything else.
        """
        cleaned = text.strip().replace(":", "").lower()
        if cleaned.startswith("0x"):
            cleaned = cleaned[2:]
        if not _HEX.fullmatch(cleaned):
            raise Malformed(f"invalid serial number {text[:60]!r}: expected hexadecimal")
        try:
            return cls(int(cleaned, 16))
        except ValueError as exc:
            raise Malformed(f"invalid serial number {text[:60]!r}: {exc}") from None

    @property
    def hex(self) -> str:
        """Lower-case hex without separators or leading zeros."""
        return format(self.value, "x")

    def __str__(self) -> str:
        return self.hex


def new_serial(random_bytes: Callable[[int], bytes] = os.urandom) -> SerialNumber:
    """Draw a fresh serial: 16 CSPRNG bytes, top bit cleared so the value is positive."""
    while True:
        raw = bytearray(random_bytes(16))
        raw[0] &= 0x7F
        value = int.from_bytes(raw, "big")
        if value:
            return SerialNumber(value)
