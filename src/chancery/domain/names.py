"""Names of things an operator types: CAs, profiles, RAs, tokens."""

from __future__ import annotations

import re
from typing import NewType

from chancery.errors import Malformed

CAName = NewType("CAName", str)
ProfileName = NewType("ProfileName", str)

# Lower-case letters, digits, '-', '_' and '.'; starts with a letter or digit.
# The name appears in URLs (/crl/{ca}.crl, /api/v1/cas/{ca}), so it must be URL-safe.
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def ca_name(value: str) -> CAName:
    """Validate a CA name; raise :class:`Malformed` if it is not URL-safe."""
    # "-delta" would make /crl/{ca}-delta.crl ambiguous with another CA's full CRL.
    if not _NAME.fullmatch(value) or value.endswith((".crl", "-delta")) or ".." in value:
        raise Malformed(
            f"invalid CA name {value[:80]!r}: use 1-63 lower-case letters, digits, '.', '-' or '_', "
            "starting with a letter or digit"
        )
    return CAName(value)


def profile_name(value: str) -> ProfileName:
    """Validate a profile name; raise :class:`Malformed` if it is not URL-safe."""
    if not _NAME.fullmatch(value):
        raise Malformed(f"invalid profile name {value[:80]!r}")
    return ProfileName(value)


def ra_name(value: str) -> str:
    """Validate an RA name (it appears in URLs: /api/v1/ras/{ra}, /scep/{ra}); raise :class:`Malformed`."""
    if not _NAME.fullmatch(value) or ".." in value:
        raise Malformed(
            f"invalid RA name {value[:80]!r}: use 1-63 lower-case letters, digits, '.', '-' or '_', "
            "starting with a letter or digit"
        )
    return value
