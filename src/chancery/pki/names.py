"""Distinguished names typed by operators (RFC 4514 strings)."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

from chancery.errors import Malformed

MAX_DN_LENGTH = 4096

# Names beyond the nine RFC 4514 defines that operators commonly type.
_EXTRA_NAMES = {
    "E": NameOID.EMAIL_ADDRESS,
    "EMAIL": NameOID.EMAIL_ADDRESS,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "TITLE": NameOID.TITLE,
    "GN": NameOID.GIVEN_NAME,
    "GIVENNAME": NameOID.GIVEN_NAME,
    "SN": NameOID.SURNAME,
    "SURNAME": NameOID.SURNAME,
    "POSTALCODE": NameOID.POSTAL_CODE,
    "ORGANIZATIONIDENTIFIER": NameOID.ORGANIZATION_IDENTIFIER,
    "BUSINESSCATEGORY": NameOID.BUSINESS_CATEGORY,
    "PSEUDONYM": NameOID.PSEUDONYM,
}


def parse_name(text: str) -> x509.Name:
    """Parse ``"CN=Issuing CA,O=Example,C=DE"`` (RFC 4514 order: most specific first).

    Spaces around ``,``, ``+`` and ``=`` are tolerated. Raises :class:`Malformed`
    naming the problem for anything else.
    """
    if not text or not text.strip():
        raise Malformed("empty distinguished name")
    if len(text) > MAX_DN_LENGTH:
        raise Malformed(f"distinguished name longer than {MAX_DN_LENGTH} characters")
    normalised = _normalise(text)
    try:
        name = x509.Name.from_rfc4514_string(normalised, attr_name_overrides=_EXTRA_NAMES)
    except ValueError as exc:
        reason = str(exc) or "not an RFC 4514 string"
        raise Malformed(f"invalid distinguished name {text[:120]!r}: {reason}") from None
    if not len(name):
        raise Malformed("empty distinguished name")
    return name


def _normalise(text: str) -> str:
    """Strip unescaped whitespace around separators and upper-case attribute names."""
    parts: list[str] = []
    current: list[str] = []
    separators: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch in ",+":
            parts.append("".join(current))
            separators.append(ch)
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    out: list[str] = []
    for index, part in enumerate(parts):
        attr, eq, value = part.partition("=")
        if not eq:
            raise Malformed(f"invalid distinguished name {text[:120]!r}: {part.strip()[:40]!r} has no '='")
        out.append(f"{attr.strip().upper()}={_strip_value(value)}")
        if index < len(separators):
            out.append(separators[index])
    return "".join(out)


def _strip_value(value: str) -> str:
    stripped = value.lstrip()
    trailing = len(stripped) - len(stripped.rstrip())
    if trailing and stripped.rstrip().endswith("\\"):
        return stripped.rstrip() + " "  # an escaped trailing space is part of the value
    return stripped.rstrip()


def format_name(name: x509.Name) -> str:
    """The RFC 4514 string Chancery shows and stores for a name."""
    return name.rfc4514_string()
