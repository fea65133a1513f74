"""Subject alternative names (RFC 5280 §4.2.1.6) as text and as GeneralNames.

The text form is ``TYPE:value`` with TYPE one of ``DNS``, ``IP``, ``email``,
``URI`` (the spelling openssl uses) or ``UPN`` (a Microsoft user principal
name, an otherName holding a UTF8String).
"""

from __future__ import annotations

import ipaddress
import re

from cryptography import x509

from chancery.errors import Malformed, RejectedIdentifier
from chancery.pki import der

UPN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")  # Microsoft User Principal Name (otherName)
_UTF8_STRING = 0x0C

# RFC 1034 §3.5 preferred name syntax (LDH labels), as RFC 5280 §4.2.1.6 requires,
# with an optional leading "*." wildcard label (RFC 6125 §6.4.3).
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LDH = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_VALID_NAME = re.compile(rf"(?:\*\.)?(?:{_LDH}\.)+{_LDH}")  # the common case in one match; errors are diagnosed below
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def check_dns_name(name: str) -> None:
    """Raise :class:`RejectedIdentifier` unless ``name`` is a valid (possibly wildcard) DNS name."""
    if len(name) <= 253 and _VALID_NAME.fullmatch(name):
        return
    candidate = name[2:] if name.startswith("*.") else name
    if not candidate or len(name) > 253 or name != name.lower():
        raise RejectedIdentifier(f"invalid DNS name {name[:80]!r}: must be lower-case and at most 253 characters")
    labels = candidate.split(".")
    if len(labels) < 2 and not name.startswith("*."):
        raise RejectedIdentifier(f"invalid DNS name {name[:80]!r}: needs at least two labels")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise RejectedIdentifier(f"invalid DNS name {name[:80]!r}: label {label[:64]!r} is not LDH")
    if name.startswith("*.") and len(labels) < 2:
        raise RejectedIdentifier(f"wildcard {name[:80]!r} must cover a name of at least two labels")


def parse_san(text: str) -> x509.GeneralName:
    """Turn ``DNS:www.example.com`` (or ``IP:``, ``email:``, ``URI:``) into a GeneralName."""
    kind, sep, value = text.partition(":")
    if not sep or not value:
        raise Malformed(f"invalid SAN {text[:80]!r}: expected TYPE:value (DNS, IP, email, URI)")
    kind = kind.strip().upper()
    value = value.strip()
    if kind == "DNS":
        check_dns_name(value)
        return x509.DNSName(value)
    if kind in ("IP", "IP ADDRESS"):
        try:
            return x509.IPAddress(ipaddress.ip_address(value))
        except ValueError:
            raise Malformed(f"invalid IP address {value[:60]!r}") from None
    if kind == "EMAIL":
        if not _EMAIL.fullmatch(value) or not value.isascii():
            raise Malformed(f"invalid email address {value[:80]!r}")
        return x509.RFC822Name(value)
    if kind == "URI":
        if "://" not in value or not value.isascii() or any(c.isspace() for c in value):
            raise Malformed(f"invalid URI {value[:80]!r}")
        return x509.UniformResourceIdentifier(value)
    if kind == "UPN":
        if not _EMAIL.fullmatch(value):
            raise Malformed(f"invalid user principal name {value[:80]!r}")
        return x509.OtherName(UPN_OID, der.tlv(_UTF8_STRING, value.encode("utf-8")))
    raise Malformed(f"unsupported SAN type {kind[:20]!r}; use DNS, IP, email, URI or UPN")


def subtree(text: str) -> x509.GeneralName:
    """A name-constraints subtree (RFC 5280 §4.2.1.10): ``DNS:example.com``, ``IP:10.0.0.0/8``,
    ``email:example.com`` (a domain) or ``URI:.example.com``."""
    kind, sep, value = text.partition(":")
    kind = kind.strip().upper()
    value = value.strip()
    if not sep or not value:
        raise Malformed(f"invalid subtree {text[:80]!r}: expected DNS:, IP:, email: or URI: and a value")
    if kind == "DNS":
        check_dns_name(value.lstrip("."))
        return x509.DNSName(value)
    if kind == "IP":
        try:
            return x509.IPAddress(ipaddress.ip_network(value, strict=True))
        except ValueError:
            raise Malformed(f"invalid network {value[:60]!r} (use an address with its prefix, 10.0.0.0/8)") from None
    if kind == "EMAIL":
        return x509.RFC822Name(value)
    if kind == "URI":
        return x509.UniformResourceIdentifier(value)
    raise Malformed(f"unsupported subtree type {kind[:20]!r}; use DNS, IP, email or URI")


def format_san(name: x509.GeneralName) -> str:
    """The text form of a GeneralName (``DNS:...``); ``other:`` for kinds without one."""
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.IPAddress):
        return f"IP:{name.value}"
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    if isinstance(name, x509.DirectoryName):
        return f"dirName:{name.value.rfc4514_string()}"
    if isinstance(name, x509.RegisteredID):
        return f"RID:{name.value.dotted_string}"
    if isinstance(name, x509.OtherName):
        upn = upn_value(name)
        return f"UPN:{upn}" if upn is not None else f"otherName:{name.type_id.dotted_string}"
    return f"other:{type(name).__name__}"


_KINDS = {
    x509.DNSName: "DNS",
    x509.IPAddress: "IP",
    x509.RFC822Name: "email",
    x509.UniformResourceIdentifier: "URI",
    x509.DirectoryName: "dirName",
    x509.RegisteredID: "RID",
    x509.OtherName: "otherName",
}


def san_kind(name: x509.GeneralName) -> str:
    """The TYPE part of :func:`format_san`."""
    if isinstance(name, x509.OtherName) and name.type_id == UPN_OID:
        return "UPN"
    return _KINDS.get(type(name), "other")


def upn_value(name: x509.OtherName) -> str | None:
    """The text of a UPN otherName (a DER UTF8String), ``None`` for other otherNames or bad encodings."""
    if name.type_id != UPN_OID:
        return None
    try:
        reader = der.Reader(name.value)
        text = reader.bytes_of(_UTF8_STRING).decode("utf-8")
        reader.finish()
    except (der.DERError, UnicodeDecodeError):
        return None
    return text
