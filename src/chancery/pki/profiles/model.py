"""Compiled, immutable certificate profiles: what the issuer applies.

Built only by :mod:`chancery.pki.profiles.config` from validated configuration
(``ProfileConfig`` -> ``Profile``); nothing else constructs them in production.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography import x509

from chancery.errors import Forbidden
from chancery.pki.lint import LintSet


class ProfileKind(StrEnum):
    LEAF = "leaf"  # end-entity certificates
    CA = "ca"  # subordinate CA certificates
    ROOT = "root"  # self-signed roots only (never issued from a CSR)


class LintMode(StrEnum):
    EVERY = "every"  # every certificate is linted before it is signed
    SAMPLED = "sampled"  # the first of each profile version, then a random fraction
    OFF = "off"  # never (an administrator's decision, recorded)


class StringSyntax(StrEnum):
    UTF8 = "utf8"
    PRINTABLE = "printable"
    IA5 = "ia5"


@dataclass(frozen=True)
class KeyRule:
    """One allowed key algorithm: ``rsa`` (bit range), ``ec`` (curves), ``ed25519``, ``ed448``."""

    algorithm: str
    min_bits: int = 2048
    max_bits: int = 8192
    curves: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RdnRule:
    """How one subject attribute may appear (an RDN rule of a subject-DN profile)."""

    oid: x509.ObjectIdentifier
    label: str
    required: bool = False
    min_count: int = 0
    max_count: int = 1
    syntax: StringSyntax = StringSyntax.UTF8  # what X.520 requires wins (C is PrintableString...)
    pattern: re.Pattern[str] | None = None
    max_length: int | None = None  # the profile's limit or RFC 5280's upper bound, the smaller
    value: str | None = None  # fixed
    default: str | None = None
    from_request: bool = True


@dataclass(frozen=True, eq=False)
class SubjectRules:
    """An ordered subject-DN profile (DER order: the most general attribute first).

    ``name`` is the subject-DN profile's, or the certificate profile's for inline rules.
    """

    name: str
    version: int
    rules: tuple[RdnRule, ...]


@dataclass(frozen=True)
class SanTypeRule:
    """What one kind of name (DNS, IP, email, URI, UPN) must look like."""

    kind: str
    pattern: re.Pattern[str] | None = None
    allow: tuple[str, ...] = ()  # domain suffixes (DNS, email, UPN) or networks (IP)
    deny: tuple[str, ...] = ()
    wildcards: bool = True  # DNS only
    allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    deny_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


@dataclass(frozen=True)
class SanRules:
    required: bool = False
    max_count: int = 100
    types: tuple[SanTypeRule, ...] = ()
    copy_common_name: bool = False  # add the CN as a DNS name when it is one and is missing

    def rule_for(self, kind: str) -> SanTypeRule | None:
        return next((rule for rule in self.types if rule.kind == kind), None)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(rule.kind for rule in self.types)


@dataclass(frozen=True)
class AcceptedFinding:
    code: str
    reason: str


@dataclass(frozen=True)
class LintPolicy:
    mode: LintMode = LintMode.EVERY
    sample_rate: float = 0.01
    sets: tuple[LintSet, ...] = (LintSet.PKIX,)
    accepted: tuple[AcceptedFinding, ...] = ()

    @property
    def accepted_codes(self) -> frozenset[str]:
        return frozenset(a.code for a in self.accepted)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: cheap as a cache key
class Profile:
    """A named, versioned certificate profile, ready to apply."""

    name: str
    kind: ProfileKind
    default_validity: dt.timedelta
    max_validity: dt.timedelta
    key_usage: frozenset[str]
    version: int = 1
    description: str = ""
    backdate: dt.timedelta = dt.timedelta(minutes=1)
    key_usage_critical: bool = True
    extended_key_usage: tuple[x509.ObjectIdentifier, ...] = ()
    extended_key_usage_critical: bool = False
    keys: tuple[KeyRule, ...] = ()  # empty: any key the global key policy accepts
    path_length: int | None = None  # CA profiles: the default pathLenConstraint
    subject: SubjectRules | None = None  # None: the request's subject as it is
    sans: SanRules = field(default_factory=SanRules)
    pass_through: frozenset[x509.ObjectIdentifier] = frozenset()
    fixed_extensions: tuple[x509.Extension[x509.ExtensionType], ...] = ()
    subject_key_identifier: str = "sha1"  # "sha1" (RFC 5280 §4.2.1.2 method 1), "sha256" (RFC 7093 §2 method 1), "none"
    signature_hash: str | None = None  # None: the issuer key's natural hash
    cas: frozenset[str] = frozenset()  # CAs that may issue under it; empty: any
    lint: LintPolicy = field(default_factory=LintPolicy)

    @property
    def is_ca(self) -> bool:
        return self.kind is not ProfileKind.LEAF

    @property
    def issuable(self) -> bool:
        """Whether a request (CSR or generated key) may name it; root profiles only self-sign."""
        return self.kind is not ProfileKind.ROOT

    def check_issuer(self, ca: str) -> None:
        """Raise :class:`Forbidden` when the profile names the CAs that may use it and ``ca`` is not one."""
        if self.cas and ca not in self.cas:
            raise Forbidden(f"profile {self.name} may only be used by CA {', '.join(sorted(self.cas))}, not {ca}")

    @property
    def ref(self) -> str:
        """``name@version``, how errors and logs name a profile version."""
        return f"{self.name}@{self.version}"
