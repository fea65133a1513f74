"""Wire helpers shared by protocol adapters."""

from __future__ import annotations

import base64
import binascii

from chancery.errors import Malformed


def pem_or_base64_der(text: str, what: str) -> bytes:
    """Bytes of a PEM document, or of base64-encoded DER (the form EST and SCEP use)."""
    stripped = text.strip()
    if stripped.startswith("-----"):
        return stripped.encode("ascii", errors="replace")
    try:
        return base64.b64decode("".join(stripped.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Malformed(f"{what} is neither PEM nor base64-encoded DER") from None


def wants(accept: str | None, media_type: str) -> bool:
    """True when an Accept header names ``media_type`` explicitly (no wildcards)."""
    if not accept:
        return False
    return any(part.split(";")[0].strip().lower() == media_type for part in accept.split(","))
