"""BER rewritten into the BER that asn1crypto reads, before it reads a message.

asn1crypto reads most BER, but not an indefinite-length element that is an untagged CHOICE
(RecipientInfo, CertificateChoices) nor a constructed string with a definite length: Java
(Bouncy Castle) and older Windows SCEP clients send both. This rewrite makes lengths definite
and joins universal OCTET STRING chunks; tags and other contents stay as they were. Depth is
bounded, so hostile nesting cannot recurse without limit.
"""

from __future__ import annotations

MAX_DEPTH = 48


class BERError(ValueError):
    """The bytes are not BER."""


def definite(data: bytes) -> bytes:
    """``data`` (one BER element) rewritten as asn1crypto reads it; the same object when it
    needed no change (DER input)."""
    out: list[bytes] = []
    end, changed = _element(data, 0, len(data), 0, out)
    if end != len(data):
        raise BERError("trailing bytes after the element")
    return b"".join(out) if changed else data


def _length_octets(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int | None, bool]:
    """(position after the tag, position after the length, content length or None, constructed)."""
    if pos + 2 > end:
        raise BERError("truncated element")
    first = data[pos]
    tag_end = pos + 1
    if first & 0x1F == 0x1F:  # high tag number form, X.690 §8.1.2.4
        while tag_end < end and data[tag_end] & 0x80:
            tag_end += 1
        tag_end += 1
        if tag_end - pos > 6 or tag_end >= end:
            raise BERError("bad tag")
    length = data[tag_end]
    pos = tag_end + 1
    if length == 0x80:
        return tag_end, pos, None, bool(first & 0x20)
    if length & 0x80:
        count = length & 0x7F
        if count > 8 or pos + count > end:
            raise BERError("bad length")
        size = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        size = length
    if pos + size > end:
        raise BERError("element runs past its container")
    return tag_end, pos, size, bool(first & 0x20)


def _children(data: bytes, start: int, size: int | None, end: int, depth: int) -> tuple[list[bytes], int, bool]:
    """The rewritten children of a constructed element, the position after it, whether any changed."""
    inner: list[bytes] = []
    cursor, changed = start, False
    stop = end if size is None else start + size
    while True:
        if size is None:
            if cursor + 2 > end:
                raise BERError("missing end-of-contents")
            if data[cursor] == 0 and data[cursor + 1] == 0:
                return inner, cursor + 2, changed
        elif cursor >= stop:
            return inner, cursor, changed
        cursor, child_changed = _element(data, cursor, stop, depth + 1, inner)
        changed = changed or child_changed


def _element(data: bytes, pos: int, end: int, depth: int, out: list[bytes]) -> tuple[int, bool]:
    """Append the element at ``pos`` to ``out``; return (position after it, whether it changed).

    X.690 §8.1.3.6: indefinite lengths become definite, except on a context-specific element
    holding only OCTET STRING chunks, which may be an IMPLICIT constructed string that asn1crypto
    reads only in indefinite form; §8.7.3: a constructed universal OCTET STRING becomes primitive.
    """
    if depth > MAX_DEPTH:
        raise BERError("nested too deeply")
    tag_end, content_start, size, constructed = _header(data, pos, end)
    if not constructed:
        if size is None:
            raise BERError("indefinite length on a primitive element")
        out.append(data[pos : content_start + size])
        return content_start + size, False
    inner, after, changed = _children(data, content_start, size, end, depth)
    tag = data[pos:tag_end]
    if tag == b"\x24":  # constructed OCTET STRING: join the chunks
        if not all(c[:1] == b"\x04" for c in inner):
            raise BERError("a constructed OCTET STRING holds something else")
        joined = b"".join(_content(c) for c in inner)
        out.append(b"\x04" + _length_octets(len(joined)) + joined)
        return after, True
    if size is None and data[pos] & 0xC0 == 0x80 and inner and all(c[:1] == b"\x04" for c in inner):
        out.append(tag + b"\x80" + b"".join(inner) + b"\x00\x00")
        return after, changed
    if size is not None and not changed:
        out.append(data[pos:after])
        return after, False
    body = b"".join(inner)
    out.append(tag + _length_octets(len(body)) + body)
    return after, True


def _content(element: bytes) -> bytes:
    """The content octets of a primitive element with a definite length."""
    _, start, size, _ = _header(element, 0, len(element))
    assert size is not None
    return element[start : start + size]
