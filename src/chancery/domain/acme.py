"""ACME (RFC 8555) kernel: directories and their policy, accounts, orders, authorizations and
challenges, the states they move through, and identifier rules."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from chancery.errors import Malformed

CHALLENGE_TYPES = ("http-01", "dns-01", "tls-alpn-01")
IDENTIFIER_TYPES = ("dns", "ip")
MAX_IDENTIFIERS = 100
MAX_CONTACTS = 4
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 8555 §6.1, RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; raises :class:`Malformed`."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise Malformed("invalid base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_id() -> str:
    """An unguessable object id for URLs (128 bits)."""
    return b64url(secrets.token_bytes(16))


class AccountStatus(StrEnum):
    VALID = "valid"
    DEACTIVATED = "deactivated"
    REVOKED = "revoked"


class OrderStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    PROCESSING = "processing"
    VALID = "valid"
    INVALID = "invalid"


class AuthzStatus(StrEnum):
    PENDING = "pending"
    VALID = "valid"
    INVALID = "invalid"
    DEACTIVATED = "deactivated"
    EXPIRED = "expired"
    REVOKED = "revoked"


class ChallengeStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    VALID = "valid"
    INVALID = "invalid"


def check_directory_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise Malformed("a directory name is 1-32 lower-case letters, digits and '-', starting with a letter or digit")
    return name


@dataclass(frozen=True)
class DirectoryPolicy:
    """What one ACME directory accepts and how it behaves."""

    require_eab: bool = False
    challenges: tuple[str, ...] = CHALLENGE_TYPES
    identifier_types: tuple[str, ...] = IDENTIFIER_TYPES
    allow_domains: tuple[str, ...] = ()  # empty: any domain (that deny_domains does not refuse)
    deny_domains: tuple[str, ...] = ()
    wildcards: bool = True
    validity_days: int | None = None  # None: the profile's default
    caa_identities: tuple[str, ...] = ()  # non-empty: CAA is checked (RFC 8659) against these
    orders_per_hour: int = 300  # per account
    certificates_per_domain_week: int = 500  # per registered domain
    authz_reuse_days: int = 30  # a valid authorization is reused this long for the same account
    terms_of_service: str | None = None
    website: str | None = None

    def __post_init__(self) -> None:
        bad = [c for c in self.challenges if c not in CHALLENGE_TYPES]
        if bad or not self.challenges:
            raise Malformed(f"challenge types are {', '.join(CHALLENGE_TYPES)}; got {', '.join(bad) or 'none'}")
        bad = [t for t in self.identifier_types if t not in IDENTIFIER_TYPES]
        if bad or not self.identifier_types:
            raise Malformed(f"identifier types are dns and ip; got {', '.join(bad) or 'none'}")
        if self.validity_days is not None and not 1 <= self.validity_days <= 3650:
            raise Malformed("validity must be between 1 and 3650 days")
        for limit in (self.orders_per_hour, self.certificates_per_domain_week, self.authz_reuse_days):
            if not 0 <= limit <= 1_000_000:
                raise Malformed("limits are between 0 and 1000000")
        for suffix in (*self.allow_domains, *self.deny_domains):
            check_dns_name(suffix)

    def domain_allowed(self, name: str) -> bool:
        def under(suffix: str) -> bool:
            return name == suffix or name.endswith("." + suffix)

        if any(under(s) for s in self.deny_domains):
            return False
        return not self.allow_domains or any(under(s) for s in self.allow_domains)


@dataclass(frozen=True)
class DirectoryRecord:
    name: str
    ra: str
    profile: str
    policy: DirectoryPolicy
    created_at: dt.datetime
    created_by: str


@dataclass(frozen=True)
class EabKeyRecord:
    """An external account binding key (RFC 8555 §7.3.4): its HMAC key is sealed."""

    kid: str
    directory: str
    hmac_sealed: str = field(repr=False)
    created_at: dt.datetime
    created_by: str
    account_id: str | None = None
    bound_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


@dataclass(frozen=True)
class AccountRecord:
    account_id: str
    directory: str
    thumbprint: str  # RFC 7638, base64url
    jwk: str  # the account's public key as canonical JSON
    status: AccountStatus
    contact: tuple[str, ...]
    created_at: dt.datetime
    eab_kid: str | None = None


@dataclass(frozen=True)
class Identifier:
    type: str
    value: str

    @property
    def wildcard(self) -> bool:
        return self.value.startswith("*.")

    @property
    def base(self) -> str:
        """The name an authorization covers: without ``*.`` (RFC 8555 §7.1.4)."""
        return self.value[2:] if self.wildcard else self.value


def parse_identifier(kind: object, value: object) -> Identifier:
    """An identifier of an order, normalised (lower case DNS names, canonical IP text); raises Malformed."""
    if not isinstance(kind, str) or not isinstance(value, str):
        raise Malformed("an identifier is {type, value} with string members")
    if kind == "dns":
        wildcard = value.startswith("*.")
        name = check_dns_name(value[2:] if wildcard else value)
        return Identifier("dns", f"*.{name}" if wildcard else name)
    if kind == "ip":  # RFC 8738
        try:
            return Identifier("ip", str(ipaddress.ip_address(value)))
        except ValueError:
            raise Malformed(f"{value[:60]!r} is not an IP address") from None
    raise Malformed(f"unknown identifier type {kind[:20]!r}")


def check_dns_name(value: str) -> str:
    name = value.lower().removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise Malformed(f"{value[:80]!r} is not a fully qualified DNS name")
    if labels[-1].isdigit():
        raise Malformed(f"{value[:80]!r} is not a DNS name")
    return name


def registered_domain(name: str) -> str:
    """The name rate limits count against: the last two labels (no public suffix list here)."""
    labels = name.removeprefix("*.").split(".")
    return ".".join(labels[-2:])


@dataclass(frozen=True)
class OrderRecord:
    order_id: str
    account_id: str
    directory: str
    status: OrderStatus
    identifiers: tuple[Identifier, ...]
    authz_ids: tuple[str, ...]
    created_at: dt.datetime
    expires_at: dt.datetime
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    error: str | None = None  # a problem document, JSON
    request_id: str | None = None  # the RA request finalize made
    ca: str | None = None
    serial: str | None = None
    replaces: str | None = None  # RFC 9773 certID
    finalized_at: dt.datetime | None = None


@dataclass(frozen=True)
class ChallengeRecord:
    challenge_id: str
    authz_id: str
    type: str
    token: str
    status: ChallengeStatus
    validated_at: dt.datetime | None = None
    error: str | None = None  # a problem document, JSON


@dataclass(frozen=True)
class AuthzRecord:
    authz_id: str
    account_id: str
    directory: str
    identifier: Identifier  # without "*."
    wildcard: bool
    status: AuthzStatus
    created_at: dt.datetime
    expires_at: dt.datetime
    challenges: tuple[ChallengeRecord, ...] = ()


_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def canonical_jwk(jwk: object) -> str:
    """The public JWK's required members as RFC 7638 §3 orders them (no whitespace); raises Malformed."""
    if not isinstance(jwk, dict) or jwk.get("kty") not in _THUMBPRINT_MEMBERS:
        raise Malformed("the JWK's kty must be EC, RSA or OKP")
    members = _THUMBPRINT_MEMBERS[str(jwk["kty"])]
    if not all(isinstance(jwk.get(m), str) for m in members):
        raise Malformed(f"a {jwk['kty']} JWK needs the members {', '.join(members)}")
    if "d" in jwk or "p" in jwk:
        raise Malformed("the JWK holds private key members")
    return json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)


def jwk_thumbprint(jwk: object) -> str:
    """RFC 7638 JWK thumbprint, SHA-256, base64url."""
    return b64url(hashlib.sha256(canonical_jwk(jwk).encode("utf-8")).digest())
