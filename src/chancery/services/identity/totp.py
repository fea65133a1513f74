"""Time-based one-time passwords (RFC 6238, HMAC-SHA-1, 30-second steps, 6 digits).

Authenticator apps read the ``otpauth://`` URI (the Google Authenticator key
URI format). A code is accepted in the current step or one step either side
(RFC 6238 §5.2), and each step at most once per user (the store remembers the
last step used).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import urllib.parse

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1


def new_secret() -> bytes:
    """160 random bits (RFC 4226 §4 recommends at least 160)."""
    return secrets.token_bytes(20)


def code_at(secret: bytes, step: int) -> str:
    """RFC 4226 §5.3 HOTP of ``step``."""
    digest = hmac.new(secret, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def matching_step(secret: bytes, code: str, unix_time: float) -> int | None:
    """The time step ``code`` belongs to, within the window; ``None`` if it matches none."""
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):  # str.isdigit accepts other scripts
        return None
    now = int(unix_time // STEP_SECONDS)
    found = None
    for step in range(now - WINDOW, now + WINDOW + 1):
        if hmac.compare_digest(code_at(secret, step), code):  # compare every candidate: constant work
            found = step
    return found


def provisioning_uri(secret: bytes, user: str, issuer: str = "Chancery") -> str:
    label = urllib.parse.quote(f"{issuer}:{user}")
    key = base64.b32encode(secret).decode("ascii").rstrip("=")
    query = urllib.parse.urlencode(
        {"secret": key, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"
