"""Certificate profiles: what a certificate of a given purpose contains.

A :class:`Profile` is immutable and validated when built. The built-ins below
cover the core issue; data-driven profiles (YAML, database, versions) build on
the same type.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from chancery.errors import NotFound

_KEY_USAGES = frozenset(
    {
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    }
)
SAN_KINDS = frozenset({"DNS", "IP", "email", "URI"})


@dataclass(frozen=True)
class Profile:
    """The shape of certificates issued under one name.

    ``key_usage`` names :class:`cryptography.x509.KeyUsage` flags;
    ``key_encipherment`` is only set for RSA subject keys (RFC 5280 §4.2.1.3,
    an EC or EdDSA key cannot encipher keys).
    """

    name: str
    description: str
    is_ca: bool
    default_validity: dt.timedelta
    max_validity: dt.timedelta
    key_usage: frozenset[str]
    extended_key_usage: tuple[x509.ObjectIdentifier, ...] = ()
    require_san: bool = False
    allowed_san_kinds: frozenset[str] = field(default_factory=frozenset)
    max_sans: int = 100
    ocsp_no_check: bool = False
    backdate: dt.timedelta = dt.timedelta(minutes=1)
    version: int = 1

    def __post_init__(self) -> None:
        unknown = self.key_usage - _KEY_USAGES
        if unknown:
            raise ValueError(f"profile {self.name}: unknown key usages {sorted(unknown)}")
        if self.is_ca != ("key_cert_sign" in self.key_usage):
            raise ValueError(f"profile {self.name}: keyCertSign must be set exactly for CA profiles")
        if not dt.timedelta(0) < self.default_validity <= self.max_validity:
            raise ValueError(f"profile {self.name}: default validity must be positive and within the maximum")
        if self.allowed_san_kinds - SAN_KINDS:
            raise ValueError(f"profile {self.name}: unknown SAN kinds {sorted(self.allowed_san_kinds - SAN_KINDS)}")
        if self.require_san and not self.allowed_san_kinds:
            raise ValueError(f"profile {self.name}: requires a SAN but allows none")
        if not 0 <= self.max_sans <= 1000:
            raise ValueError(f"profile {self.name}: max_sans must be between 0 and 1000")
        if not dt.timedelta(0) <= self.backdate <= dt.timedelta(days=1):
            raise ValueError(f"profile {self.name}: backdate must be between 0 and 1 day")


_DAY = dt.timedelta(days=1)
_CA_USAGE = frozenset({"digital_signature", "key_cert_sign", "crl_sign"})

BUILTIN_PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="tls-server",
            description="TLS server (web servers, APIs): DNS/IP names, serverAuth",
            is_ca=False,
            default_validity=365 * _DAY,
            max_validity=398 * _DAY,
            key_usage=frozenset({"digital_signature", "key_encipherment"}),
            extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,),
            require_san=True,
            allowed_san_kinds=frozenset({"DNS", "IP"}),
        ),
        Profile(
            name="tls-client",
            description="TLS client (users, services, devices): clientAuth",
            is_ca=False,
            default_validity=365 * _DAY,
            max_validity=825 * _DAY,
            key_usage=frozenset({"digital_signature"}),
            extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,),
            allowed_san_kinds=frozenset({"DNS", "IP", "email", "URI"}),
        ),
        Profile(
            name="ocsp-responder",
            description="Delegated OCSP responder (RFC 6960 §4.2.2.2), with id-pkix-ocsp-nocheck",
            is_ca=False,
            default_validity=30 * _DAY,
            max_validity=365 * _DAY,
            key_usage=frozenset({"digital_signature"}),
            extended_key_usage=(ExtendedKeyUsageOID.OCSP_SIGNING,),
            allowed_san_kinds=frozenset({"DNS", "URI"}),
            ocsp_no_check=True,
        ),
        Profile(
            name="sub-ca",
            description="Subordinate (issuing) CA",
            is_ca=True,
            default_validity=5 * 365 * _DAY,
            max_validity=20 * 365 * _DAY,
            key_usage=_CA_USAGE,
            max_sans=0,
            backdate=dt.timedelta(0),
        ),
        Profile(
            name="root-ca",
            description="Self-signed root CA",
            is_ca=True,
            default_validity=10 * 365 * _DAY,
            max_validity=30 * 365 * _DAY,
            key_usage=_CA_USAGE,
            max_sans=0,
            backdate=dt.timedelta(0),
        ),
    )
}

# Profiles an operator may name when issuing from a CSR (root-ca is only for self-signing).
ISSUABLE_PROFILES = ("tls-server", "tls-client", "sub-ca", "ocsp-responder")


def builtin_profile(name: str) -> Profile:
    """Return a built-in profile; raise :class:`NotFound` naming the choices."""
    profile = BUILTIN_PROFILES.get(name)
    if profile is None:
        raise NotFound(f"unknown profile {name[:60]!r}; available: {', '.join(sorted(BUILTIN_PROFILES))}")
    return profile
