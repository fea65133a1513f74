"""The small fields of EMV certificates: PAN, issuer identifier, expiry date, serial number, hex.

Numeric fields are EMV format 'cn' (compressed numeric: BCD digits, padded to the right with
hexadecimal 'F') or 'n' (BCD, no padding), as EMV Book 3 §4.3 defines them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from chancery.emv.errors import EmvError, Reason

PAN_MIN_DIGITS = 12  # ISO/IEC 7812-1: a PAN has at most 19 digits; EMV cards carry 12 or more
PAN_MAX_DIGITS = 19
SERIAL_LENGTH = 3  # Certificate Serial Number, EMV Book 2 Table 6 and Table 14
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9A-Fa-f]*")


def parse_pan(pan: str) -> str:
    """Return ``pan`` if it is 12 to 19 decimal digits, else raise ``bad-pan``."""
    if not isinstance(pan, str) or not PAN_MIN_DIGITS <= len(pan) <= PAN_MAX_DIGITS or not _DIGITS.fullmatch(pan):
        shown = f"{len(pan)} characters" if isinstance(pan, str) else type(pan).__name__
        raise EmvError(Reason.BAD_PAN, f"a PAN is {PAN_MIN_DIGITS} to {PAN_MAX_DIGITS} decimal digits (got {shown})")
    return pan


def digits_to_cn(digits: str, length: int) -> bytes:
    """``digits`` as ``length`` bytes of format cn: BCD, padded to the right with 'F'."""
    if len(digits) > 2 * length:
        raise ValueError("too many digits for the field")
    return bytes.fromhex(digits.ljust(2 * length, "F"))


def cn_to_digits(field: bytes) -> str | None:
    """The digits of a cn field (digits, then only 'F' padding), or None if it is not one."""
    nibbles = field.hex().upper()
    digits = nibbles.rstrip("F")
    return digits if _DIGITS.fullmatch(digits) else None


def parse_issuer_identifier(identifier: str) -> str:
    """Return ``identifier`` if it is 3 to 8 digits (the leftmost PAN digits, EMV Book 2 Table 6),
    else raise ``bad-issuer-identifier``."""
    if not isinstance(identifier, str) or not 3 <= len(identifier) <= 8 or not _DIGITS.fullmatch(identifier):
        raise EmvError(Reason.BAD_ISSUER_IDENTIFIER, "an issuer identifier is the leftmost 3 to 8 digits of the PAN")
    return identifier


def check_serial(serial: bytes) -> bytes:
    """Return ``serial`` if it is a 3-byte Certificate Serial Number, else raise ``bad-serial``."""
    if not isinstance(serial, bytes) or len(serial) != SERIAL_LENGTH:
        raise EmvError(Reason.BAD_SERIAL, f"a certificate serial number is {SERIAL_LENGTH} bytes")
    return serial


@dataclass(frozen=True, order=True)
class Expiry:
    """A Certificate Expiration Date (MMYY, format n 4; EMV Book 2 Table 6 and Table 14).

    Two-digit years follow the EMV window: 00-49 are 2000-2049, 50-99 are 1950-1999. A
    certificate is valid through the last day of its month (EMV Book 2 §5.3 step 9, §6.4 step 9).
    """

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1950 <= self.year <= 2049:
            raise EmvError(Reason.BAD_DATE, "an expiry month is 01 to 12, its year 1950 to 2049")

    @classmethod
    def parse(cls, mmyy: str) -> Expiry:
        """From four digits MMYY (``"1231"`` is December 2031); ``bad-date`` otherwise."""
        if not isinstance(mmyy, str) or len(mmyy) != 4 or not _DIGITS.fullmatch(mmyy):
            raise EmvError(Reason.BAD_DATE, "an expiry date is four digits, MMYY")
        yy = int(mmyy[2:])
        return cls(year=(2000 if yy < 50 else 1900) + yy, month=int(mmyy[:2]))

    @classmethod
    def from_bcd(cls, field: bytes) -> Expiry:
        """From the two BCD bytes of a certificate; ``bad-date`` if they are not a valid MMYY."""
        text = field.hex()
        if len(field) != 2 or not _DIGITS.fullmatch(text):
            raise EmvError(Reason.BAD_DATE, "the certificate expiration date is not BCD MMYY")
        return cls.parse(text)

    @property
    def mmyy(self) -> str:
        return f"{self.month:02d}{self.year % 100:02d}"

    @property
    def bcd(self) -> bytes:
        return bytes.fromhex(self.mmyy)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def has_expired(self, today: dt.date) -> bool:
        """True once ``today`` is after the last day of the expiry month."""
        return today > self.last_day


def parse_hex(text: object, field: str, *, max_bytes: int) -> bytes:
    """Bytes from hexadecimal (either case, no spaces); ``oversized`` beyond ``max_bytes``,
    ``bad-field`` if it is not hex of whole bytes."""
    if not isinstance(text, str):
        raise EmvError(Reason.BAD_FIELD, f"{field} must be a hexadecimal string")
    if len(text) > 2 * max_bytes:
        raise EmvError(Reason.OVERSIZED, f"{field} is longer than {max_bytes} bytes")
    if len(text) % 2 or not _HEX.fullmatch(text):
        raise EmvError(Reason.BAD_FIELD, f"{field} is not hexadecimal of whole bytes")
    return bytes.fromhex(text)


def to_hex(data: bytes) -> str:
    """Upper-case hexadecimal, as EMV data is usually written."""
    return data.hex().upper()
