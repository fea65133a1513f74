"""The one error EMV formats raise, with a machine-readable reason.

Every failure a caller's input can cause (a bad certificate, PAN, date, TLV or key) is an
:class:`EmvError`: a :class:`~chancery.errors.Malformed` that edges already translate, with a
``reason`` saying exactly which check failed, so an operator (or a test) can tell a bad hash
from an expired certificate. Details never contain key material.
"""

from __future__ import annotations

from enum import StrEnum

from chancery.errors import Malformed


class Reason(StrEnum):
    """Which check refused the input."""

    WRONG_LENGTH = "wrong-length"  # a signed block or field is not as long as its key or layout says
    OUT_OF_RANGE = "out-of-range"  # a signed block is not numerically below the modulus
    BAD_HEADER = "bad-header"  # recovered data header is not '6A'
    BAD_TRAILER = "bad-trailer"  # recovered data trailer is not 'BC'
    BAD_FORMAT = "bad-format"  # certificate or data format byte is not the one expected
    BAD_HASH = "bad-hash"  # the recovered hash result does not match the data
    UNKNOWN_HASH_ALGORITHM = "unknown-hash-algorithm"
    UNKNOWN_PK_ALGORITHM = "unknown-pk-algorithm"
    MISSING_REMAINDER = "missing-remainder"  # the key is longer than the certificate holds, no remainder
    BAD_REMAINDER = "bad-remainder"  # a remainder of the wrong length, or one that is not needed
    EXPIRED = "expired"
    PAN_MISMATCH = "pan-mismatch"  # the PAN does not match the issuer identifier or certified PAN
    BAD_PAN = "bad-pan"  # not 12 to 19 decimal digits
    BAD_ISSUER_IDENTIFIER = "bad-issuer-identifier"  # not 3 to 8 digits padded with 'F'
    BAD_DATE = "bad-date"  # not a valid MMYY
    BAD_SERIAL = "bad-serial"  # a certificate serial number is 3 bytes
    MODULUS_TOO_LONG = "modulus-too-long"  # longer than the certifier's key (or 1984 bits) allows
    BAD_MODULUS = "bad-modulus"  # too short, even, or without its top bit set
    BAD_EXPONENT = "bad-exponent"  # not 3 or 65537, or not the length the certificate says
    BAD_KEY_SIZE = "bad-key-size"  # a key length EMV does not allow
    BAD_CHECK_VALUE = "bad-check-value"  # CA public key check value does not match
    BAD_FIELD = "bad-field"  # any other field of the wrong shape (RID, index, DAC, hex...)
    BAD_JSON = "bad-json"
    MALFORMED_TLV = "malformed-tlv"
    TRUNCATED_TLV = "truncated-tlv"
    OVERSIZED = "oversized"  # input larger than any valid value


class EmvError(Malformed):
    """An EMV structure was refused; ``reason`` names the failed check, ``detail`` explains it."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason

    def __repr__(self) -> str:
        return f"EmvError({self.reason.value!r}, {self.detail!r})"
