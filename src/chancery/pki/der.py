"""A small DER (ITU-T X.690) encoder and a strict reader, for the structures pyca/cryptography
cannot build or parse the way Chancery needs: CRLs streamed from stored entries (RFC 5280 §5)
and OCSP requests and responses with several certificates (RFC 6960 §4).

The reader accepts definite lengths only, refuses truncation, trailing bytes and
lengths beyond the input, and never recurses on attacker-chosen depth.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
ENUMERATED = 0x0A
BOOLEAN = 0x01
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18


class DERError(ValueError):
    """The bytes are not the DER that was expected."""


# -- encoding ---------------------------------------------------------------------------


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + length(len(content)) + content


def sequence(*parts: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))


def sequence_of(parts: Iterable[bytes]) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))


def integer(value: int) -> bytes:
    """A DER INTEGER (two's complement, minimal)."""
    size = (value.bit_length() + 8) // 8 if value >= 0 else ((-value - 1).bit_length() + 8) // 8
    return tlv(INTEGER, value.to_bytes(max(size, 1), "big", signed=True))


def enumerated(value: int) -> bytes:
    return tlv(ENUMERATED, integer(value)[2:])


def boolean(value: bool) -> bytes:
    return tlv(BOOLEAN, b"\xff" if value else b"\x00")


def octet_string(value: bytes) -> bytes:
    return tlv(OCTET_STRING, value)


def bit_string(value: bytes) -> bytes:
    """A BIT STRING of whole octets (no unused bits)."""
    return tlv(BIT_STRING, b"\x00" + value)


def null() -> bytes:
    return b"\x05\x00"


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"invalid OID {dotted}")
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(OID, bytes(body))


def explicit(number: int, content: bytes) -> bytes:
    """A context-specific constructed tag [number] EXPLICIT around ``content``."""
    return tlv(0xA0 | number, content)


def implicit(number: int, content: bytes, constructed: bool) -> bytes:
    """A context-specific tag [number] IMPLICIT replacing the tag of ``content``'s encoding."""
    return tlv((0xA0 if constructed else 0x80) | number, content)


def generalized_time(moment: dt.datetime) -> bytes:
    """GeneralizedTime with whole seconds, UTC ("YYYYMMDDHHMMSSZ", RFC 5280 §4.1.2.5.2)."""
    return tlv(GENERALIZED_TIME, moment.astimezone(dt.timezone.utc).strftime("%Y%m%d%H%M%SZ").encode())


def utc_time(moment: dt.datetime) -> bytes:
    """UTCTime ("YYMMDDHHMMSSZ", RFC 5280 §4.1.2.5.1); only for years 1950-2049."""
    return tlv(UTC_TIME, moment.astimezone(dt.timezone.utc).strftime("%y%m%d%H%M%SZ").encode())


def time(moment: dt.datetime) -> bytes:
    """RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050 (§4.1.2.5, §5.1.2.4)."""
    return utc_time(moment) if moment.year < 2050 else generalized_time(moment)


def extension(oid_der: bytes, critical: bool, value_der: bytes) -> bytes:
    """Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }."""
    return sequence(oid_der, boolean(True) if critical else b"", octet_string(value_der))


# -- reading ----------------------------------------------------------------------------


class Reader:
    """Walks a DER buffer element by element; every method raises :class:`DERError` on bad input."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end

    def at_end(self) -> bool:
        return self.pos >= self.end

    def peek_tag(self) -> int | None:
        return None if self.at_end() else self.data[self.pos]

    def read(self) -> tuple[int, int, int]:
        """The next element as (tag, content start, content end); advances past it."""
        data, pos, end = self.data, self.pos, self.end
        if pos + 2 > end:
            raise DERError("truncated element")
        tag = data[pos]
        if tag & 0x1F == 0x1F:
            raise DERError("multi-byte tags are not used here")
        first = data[pos + 1]
        pos += 2
        if first < 0x80:
            size = first
        elif first == 0x80:
            raise DERError("indefinite length is not DER")
        else:
            count = first & 0x7F
            if count > 4 or pos + count > end:
                raise DERError("bad length")
            size = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        if pos + size > end:
            raise DERError("element runs past the end of its container")
        self.pos = pos + size
        return tag, pos, pos + size

    def expect(self, tag: int) -> tuple[int, int]:
        """The next element's content span; it must carry ``tag``."""
        found, start, stop = self.read()
        if found != tag:
            raise DERError(f"expected tag 0x{tag:02x}, found 0x{found:02x}")
        return start, stop

    def enter(self, tag: int) -> Reader:
        """A reader over the content of the next element, which must carry ``tag``."""
        start, stop = self.expect(tag)
        return Reader(self.data, start, stop)

    def raw(self) -> bytes:
        """The next element, tag and length included."""
        begin = self.pos
        self.read()
        return self.data[begin : self.pos]

    def finish(self) -> None:
        if not self.at_end():
            raise DERError("trailing bytes")

    def bytes_of(self, tag: int) -> bytes:
        start, stop = self.expect(tag)
        return self.data[start:stop]

    def integer(self) -> int:
        content = self.bytes_of(INTEGER)
        if not content:
            raise DERError("empty INTEGER")
        return int.from_bytes(content, "big", signed=True)


def oid_text(content: bytes) -> str:
    """Dotted form of an OBJECT IDENTIFIER's content octets."""
    if not content or content[-1] & 0x80:
        raise DERError("truncated OBJECT IDENTIFIER")
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])
