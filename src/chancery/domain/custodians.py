"""Key custodians: the named people whose passphrases a ceremony or a locked key store needs.

A custodian is enrolled once (``chancery ceremony custodian add NAME``) with a
passphrase only they know; Chancery keeps an Argon2id verifier of it, never the
passphrase. A ceremony names N custodians and a threshold M; M of them must
authenticate before any key is used. The software key store can require the same
quorum (its secret split M-of-N with Shamir's scheme, one share per custodian).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from chancery.errors import Malformed

# Lower-case letters, digits and '_', starting with a letter: the name is also the suffix of
# an environment variable (CHANCERY_CUSTODIAN_PASSPHRASE_ALICE), so '-' and '.' are out.
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
PASSPHRASE_ENV_PREFIX = "CHANCERY_CUSTODIAN_PASSPHRASE_"  # noqa: S105 - a variable name, not a secret
MAX_CUSTODIANS = 32


def custodian_name(value: str) -> str:
    """Validate a custodian name; raise :class:`Malformed` otherwise."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise Malformed(
            f"invalid custodian name {str(value)[:80]!r}: use 1-32 lower-case letters, digits or '_', "
            "starting with a letter"
        )
    return value


def passphrase_variable(name: str) -> str:
    """The environment variable that may hold custodian ``name``'s passphrase (upper case)."""
    return PASSPHRASE_ENV_PREFIX + name.upper()


def check_quorum(custodians: tuple[str, ...], threshold: int) -> None:
    """Raise :class:`Malformed` unless ``custodians`` are distinct valid names and 1 <= threshold <= N."""
    for name in custodians:
        custodian_name(name)
    if not custodians:
        raise Malformed("name at least one custodian")
    if len(set(custodians)) != len(custodians):
        raise Malformed("a custodian is named twice")
    if len(custodians) > MAX_CUSTODIANS:
        raise Malformed(f"at most {MAX_CUSTODIANS} custodians")
    if isinstance(threshold, bool) or not 1 <= threshold <= len(custodians):
        raise Malformed(f"the threshold must be between 1 and the number of custodians ({len(custodians)})")


@dataclass(frozen=True)
class CustodianRecord:
    """An enrolled custodian. ``verifier`` is an Argon2id hash (RFC 9106), never shown."""

    name: str
    verifier: str = field(repr=False)
    created_at: dt.datetime
    created_by: str


@dataclass(frozen=True)
class KeystoreQuorum:
    """The software key store opens only with ``threshold`` of these custodians' passphrases."""

    threshold: int
    custodians: tuple[str, ...]
    created_at: dt.datetime
