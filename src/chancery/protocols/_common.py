"""Wire helpers shared by protocol adapters."""

from __future__ import annotations

import base64
import binascii

from chancery.errors import ErrorKind, Malformed

# The HTTP status of each error kind, for every HTTP edge (REST problems, the portal's error pages,
# SCEP's plain-text errors). Exhaustive: tests/architecture checks every ErrorKind has a row.
STATUS_BY_KIND: dict[ErrorKind, int] = {
    ErrorKind.MALFORMED: 400,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.PAYLOAD_TOO_LARGE: 413,
    ErrorKind.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorKind.NOT_ACCEPTABLE: 406,
    ErrorKind.REJECTED_IDENTIFIER: 400,
    ErrorKind.BAD_CSR: 400,
    ErrorKind.BAD_PUBLIC_KEY: 400,
    ErrorKind.LINT_FAILED: 422,
    ErrorKind.BAD_REVOCATION_REASON: 400,
    ErrorKind.ALREADY_REVOKED: 409,
    ErrorKind.APPROVAL_REQUIRED: 202,
    ErrorKind.KEYSTORE_UNAVAILABLE: 503,
    ErrorKind.CONFIGURATION: 500,
    ErrorKind.INTERNAL: 500,
}


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


# Kinds whose detail may describe the server's insides: clients get a generic message.
HIDDEN_KINDS = {ErrorKind.INTERNAL, ErrorKind.CONFIGURATION, ErrorKind.KEYSTORE_UNAVAILABLE}
