"""Profile files (YAML or JSON) -> validated, immutable :class:`Profile` objects.

``ProfileConfig`` mirrors the file (unknown keys are refused); :func:`compile_profile`
turns it into a :class:`Profile`. Every problem is collected and reported at once
(:class:`InvalidProfile`, one sub-error per field), so a profile is never half-applied.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Any, Literal

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chancery.errors import CAError, Malformed, SubError
from chancery.pki.lint import LintSet
from chancery.pki.preencoded import encoded
from chancery.pki.profiles import names
from chancery.pki.profiles.model import (
    AcceptedFinding,
    KeyRule,
    LintMode,
    LintPolicy,
    Profile,
    ProfileKind,
    RdnRule,
    SanRules,
    SanTypeRule,
    StringSyntax,
    SubjectRules,
)
from chancery.pki.sans import subtree

_STRICT = ConfigDict(extra="forbid", frozen=True)
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")  # profile and CA names (chancery.domain.names)
_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_CURVES = {"P-256": "secp256r1", "P-384": "secp384r1", "P-521": "secp521r1"}
MAX_VALIDITY = dt.timedelta(days=100 * 366)

# Extensions Chancery builds itself: never fixed by a profile or copied from a request.
MANAGED_EXTENSIONS = frozenset(
    {
        x509.BasicConstraints.oid,
        x509.KeyUsage.oid,
        x509.ExtendedKeyUsage.oid,
        x509.SubjectAlternativeName.oid,
        x509.SubjectKeyIdentifier.oid,
        x509.AuthorityKeyIdentifier.oid,
        x509.CRLDistributionPoints.oid,
        x509.AuthorityInformationAccess.oid,
    }
)


class InvalidProfile(Malformed):
    """A profile file with problems; ``sub_errors`` names each field and rule."""


def parse_duration(value: object) -> dt.timedelta:
    """``90d``, ``12h``, ``30m``, ``45s`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 90d, 12h, 30m")
    if isinstance(value, int):
        return dt.timedelta(seconds=value)
    match = _DURATION.fullmatch(str(value).strip().lower())
    if match is None:
        raise ValueError(f"{value!r} is not a duration like 90d, 12h, 30m")
    return dt.timedelta(seconds=int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)])


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex does not compile: {exc}") from None
    return value


class ValidityConfig(BaseModel):
    model_config = _STRICT
    default: str | int
    max: str | int
    backdate: str | int = "1m"

    @field_validator("default", "max", "backdate")
    @classmethod
    def _duration(cls, value: str | int) -> str | int:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> ValidityConfig:
        default, maximum = parse_duration(self.default), parse_duration(self.max)
        if not dt.timedelta(0) < default <= maximum:
            raise ValueError("default must be positive and at most max")
        if maximum > MAX_VALIDITY:
            raise ValueError("max is at most 100 years")
        if parse_duration(self.backdate) > dt.timedelta(days=1):
            raise ValueError("backdate is at most 1 day")
        return self


class KeyConfig(BaseModel):
    model_config = _STRICT
    algorithm: Literal["rsa", "ec", "ed25519", "ed448"]
    min_bits: int = Field(default=2048, ge=2048, le=8192)
    max_bits: int = Field(default=8192, ge=2048, le=8192)
    curves: list[Literal["P-256", "P-384", "P-521"]] = Field(default_factory=lambda: ["P-256", "P-384", "P-521"])


KeyUsageName = Literal[
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
]


class KeyUsageConfig(BaseModel):
    model_config = _STRICT
    critical: bool
    usages: list[KeyUsageName] = Field(min_length=1)


class ExtendedKeyUsageConfig(BaseModel):
    model_config = _STRICT
    critical: bool
    usages: list[str] = Field(min_length=1, max_length=32)

    @field_validator("usages")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for usage in value:
            try:
                names.extended_key_usage(usage)
            except ValueError:
                known = ", ".join(names.EXTENDED_KEY_USAGES)
                raise ValueError(f"unknown usage {usage!r}: use a dotted OID or {known}") from None
        return value


class RdnConfig(BaseModel):
    model_config = _STRICT
    attribute: str
    required: bool = False
    min: int = Field(default=0, ge=0, le=16)
    max: int = Field(default=1, ge=1, le=16)
    syntax: Literal["utf8", "printable", "ia5"] | None = None
    regex: str | None = None
    max_length: int | None = Field(default=None, ge=1, le=1024)
    value: str | None = Field(default=None, max_length=1024)
    default: str | None = Field(default=None, max_length=1024)
    from_request: bool = True

    @field_validator("attribute")
    @classmethod
    def _attribute(cls, value: str) -> str:
        names.attribute(value)
        return value

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return _regex(value)

    @model_validator(mode="after")
    def _consistent(self) -> RdnConfig:
        if self.min > self.max:
            raise ValueError("min is larger than max")
        if not self.from_request and self.value is None and self.default is None:
            raise ValueError("an attribute that does not come from the request needs a value or default")
        return self


class SubjectConfig(BaseModel):
    model_config = _STRICT
    rules: list[RdnConfig] = Field(min_length=1, max_length=32)


class SanTypeConfig(BaseModel):
    model_config = _STRICT
    regex: str | None = None
    allow: list[str] = Field(default_factory=list, max_length=1000)
    deny: list[str] = Field(default_factory=list, max_length=1000)
    wildcards: bool = True

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return _regex(value)


class SanConfig(BaseModel):
    model_config = _STRICT
    required: bool = False
    max: int = Field(default=100, ge=0, le=1000)
    copy_common_name: bool = False
    types: dict[Literal["DNS", "IP", "email", "URI", "UPN"], SanTypeConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> SanConfig:
        if self.required and not self.types:
            raise ValueError("SANs are required but no SAN type is allowed")
        ip = self.types.get("IP")
        for entry in (ip.allow + ip.deny) if ip else ():
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"types.IP: {entry!r} is not an IP network") from None
        return self


class PolicyConfig(BaseModel):
    model_config = _STRICT
    oid: str
    cps: list[str] = Field(default_factory=list)
    notice: str | None = Field(default=None, max_length=200)

    @field_validator("oid")
    @classmethod
    def _oid(cls, value: str) -> str:
        names.oid(value)
        return value


class NameConstraintsConfig(BaseModel):
    model_config = _STRICT
    critical: bool = True  # RFC 5280 §4.2.1.10: MUST be critical
    permitted: list[str] = Field(default_factory=list, max_length=1000)
    excluded: list[str] = Field(default_factory=list, max_length=1000)

    @field_validator("permitted", "excluded")
    @classmethod
    def _subtrees(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                subtree(entry)
            except CAError as exc:  # Malformed, or RejectedIdentifier for a bad DNS name
                raise ValueError(exc.detail) from None
        return value

    @model_validator(mode="after")
    def _some(self) -> NameConstraintsConfig:
        if not self.permitted and not self.excluded:
            raise ValueError("needs permitted or excluded subtrees")
        return self


class CustomExtensionConfig(BaseModel):
    model_config = _STRICT
    oid: str
    critical: bool = False
    value: str = Field(description="the extension value's DER, in hex")

    @field_validator("oid")
    @classmethod
    def _oid(cls, value: str) -> str:
        names.oid(value)
        return value

    @field_validator("value")
    @classmethod
    def _hex(cls, value: str) -> str:
        try:
            bytes.fromhex(value)
        except ValueError:
            raise ValueError("value must be hexadecimal DER") from None
        return value


class ExtensionsConfig(BaseModel):
    model_config = _STRICT
    certificate_policies: list[PolicyConfig] = Field(default_factory=list, max_length=32)
    name_constraints: NameConstraintsConfig | None = None
    ocsp_no_check: bool = False
    must_staple: bool = False
    custom: list[CustomExtensionConfig] = Field(default_factory=list, max_length=32)

    @model_validator(mode="after")
    def _distinct(self) -> ExtensionsConfig:
        seen = set()
        if self.certificate_policies:
            seen.add(x509.CertificatePolicies.oid)
        if self.name_constraints is not None:
            seen.add(x509.NameConstraints.oid)
        if self.ocsp_no_check:
            seen.add(x509.OCSPNoCheck.oid)
        if self.must_staple:
            seen.add(x509.TLSFeature.oid)
        for custom in self.custom:
            oid = names.oid(custom.oid)
            if oid in seen or oid in MANAGED_EXTENSIONS:
                raise ValueError(f"custom: {custom.oid} is built by Chancery or given twice")
            seen.add(oid)
        return self


class AcceptConfig(BaseModel):
    model_config = _STRICT
    code: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)


class LintConfig(BaseModel):
    model_config = _STRICT
    mode: Literal["every", "sampled", "off"] = "every"
    sample_rate: float = Field(default=0.01, ge=0, le=1)
    validators: list[Literal["pkix", "cabf-serverauth", "cabf-smime"]] | None = None
    accept: list[AcceptConfig] = Field(default_factory=list)


class ProfileConfig(BaseModel):
    """A certificate profile as written in its file."""

    model_config = _STRICT
    name: str = Field(pattern=_NAME.pattern)
    description: str = Field(default="", max_length=500)
    kind: Literal["leaf", "ca", "root"] = "leaf"
    validity: ValidityConfig
    keys: list[KeyConfig] = Field(default_factory=list)
    key_usage: KeyUsageConfig
    extended_key_usage: ExtendedKeyUsageConfig | None = None
    path_length: int | None = Field(default=None, ge=0, le=16)
    subject_profile: str | None = None
    subject: SubjectConfig | None = None
    sans: SanConfig = Field(default_factory=SanConfig)
    pass_through: list[str] = Field(default_factory=list)
    extensions: ExtensionsConfig = Field(default_factory=ExtensionsConfig)
    subject_key_identifier: Literal["sha1", "sha256", "none"] = "sha1"
    signature_hash: Literal["sha256", "sha384", "sha512"] | None = None
    cas: list[str] = Field(default_factory=list, max_length=100, description="CAs that may issue under it; empty: any")
    lint: LintConfig = Field(default_factory=LintConfig)

    @field_validator("cas")
    @classmethod
    def _ca_names(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _NAME.fullmatch(item):
                raise ValueError(f"{item[:80]!r} is not a CA name")
        return value

    @field_validator("pass_through")
    @classmethod
    def _oids(cls, value: list[str]) -> list[str]:
        for item in value:
            if names.oid(item) in MANAGED_EXTENSIONS:
                raise ValueError(f"{item} is built by Chancery from the request and profile; it cannot pass through")
        return value


class SubjectProfileConfig(BaseModel):
    """A subject-DN profile file (``kind: subject``)."""

    model_config = _STRICT
    name: str = Field(pattern=_NAME.pattern)
    kind: Literal["subject"]
    description: str = Field(default="", max_length=500)
    rules: list[RdnConfig] = Field(min_length=1, max_length=32)


def load_document(document: Any) -> ProfileConfig | SubjectProfileConfig:
    """Validate a parsed file; raise :class:`InvalidProfile` listing every problem."""
    if not isinstance(document, dict):
        raise InvalidProfile("a profile is a mapping of settings")
    model: type[BaseModel] = SubjectProfileConfig if document.get("kind") == "subject" else ProfileConfig
    problems = [] if model is SubjectProfileConfig else _top_level_problems(document)
    try:
        config = model.model_validate(document)
    except ValidationError as exc:
        problems = _from_pydantic(exc.errors()) + problems
    _raise_if(problems)
    return config  # type: ignore[return-value]


def _top_level_problems(document: dict[str, Any]) -> list[SubError]:
    """Rules between a profile's top-level fields, checked on the raw document so that they are
    reported together with every field's own problems."""
    problems = []
    kind = document.get("kind", "leaf")
    key_usage = document.get("key_usage")
    usages = key_usage.get("usages") if isinstance(key_usage, dict) else None
    if kind in ("leaf", "ca", "root") and isinstance(usages, list) and (kind != "leaf") != ("key_cert_sign" in usages):
        problems.append(
            SubError("key_usage.usages", "key_cert_sign is required for CA and root profiles, and only for them")
        )
    if kind == "leaf" and document.get("path_length") is not None:
        problems.append(SubError("path_length", "only CA profiles have a path length"))
    if kind in ("ca", "root") and document.get("subject_key_identifier") == "none":
        problems.append(SubError("subject_key_identifier", "CA certificates must carry one (RFC 5280 §4.2.1.2)"))
    if document.get("subject") is not None and document.get("subject_profile") is not None:
        problems.append(SubError("subject", "give subject rules or a subject_profile, not both"))
    extensions = document.get("extensions")
    if kind == "leaf" and isinstance(extensions, dict) and extensions.get("name_constraints") is not None:
        problems.append(
            SubError("extensions.name_constraints", "name constraints belong in CA profiles (RFC 5280 §4.2.1.10)")
        )
    return problems


def compile_profile(config: ProfileConfig, version: int, subject: SubjectRules | None = None) -> Profile:
    """Build the runtime profile from a validated config; ``subject`` is the referenced
    subject-DN profile, already compiled (:class:`InvalidProfile` if it is missing)."""
    if config.subject_profile is not None and subject is None:
        problem = SubError("subject_profile", f"no subject-DN profile named {config.subject_profile!r}")
        raise InvalidProfile(_summary((problem,)), sub_errors=(problem,))
    if config.subject is not None:
        subject = compile_subject(config.subject, config.name, version)
    ekus = (
        tuple(names.extended_key_usage(u) for u in config.extended_key_usage.usages)
        if config.extended_key_usage
        else ()
    )
    return Profile(
        name=config.name,
        kind=ProfileKind(config.kind),
        version=version,
        description=config.description,
        default_validity=parse_duration(config.validity.default),
        max_validity=parse_duration(config.validity.max),
        backdate=parse_duration(config.validity.backdate),
        key_usage=frozenset(config.key_usage.usages),
        key_usage_critical=config.key_usage.critical,
        extended_key_usage=ekus,
        extended_key_usage_critical=config.extended_key_usage.critical if config.extended_key_usage else False,
        keys=tuple(_key_rule(k) for k in config.keys),
        path_length=config.path_length,
        subject=subject,
        sans=_sans(config.sans),
        pass_through=frozenset(names.oid(o) for o in config.pass_through),
        fixed_extensions=_fixed_extensions(config.extensions),
        subject_key_identifier=config.subject_key_identifier,
        signature_hash=config.signature_hash,
        cas=frozenset(config.cas),
        lint=_lint(config.lint, ekus),
    )


def compile_subject(config: SubjectProfileConfig | SubjectConfig, name: str, version: int) -> SubjectRules:
    return SubjectRules(name=name, version=version, rules=tuple(_rdn_rule(rule) for rule in config.rules))


def _rdn_rule(config: RdnConfig) -> RdnRule:
    """One RDN rule, with what X.520 and RFC 5280 impose folded in (string type, upper bound)."""
    oid, label = names.attribute(config.attribute)
    bounds = [b for b in (config.max_length, names.UPPER_BOUNDS.get(oid)) if b is not None]
    return RdnRule(
        oid=oid,
        label=label,
        required=config.required,
        min_count=max(config.min, 1) if config.required else config.min,
        max_count=config.max,
        syntax=StringSyntax(names.REQUIRED_SYNTAX.get(oid) or config.syntax or "utf8"),
        pattern=re.compile(config.regex) if config.regex else None,
        max_length=min(bounds) if bounds else None,
        value=config.value,
        default=config.default,
        from_request=config.from_request,
    )


def _sans(config: SanConfig) -> SanRules:
    rules = []
    for kind, rule in config.types.items():
        is_ip = kind == "IP"
        rules.append(
            SanTypeRule(
                kind=kind,
                pattern=re.compile(rule.regex) if rule.regex else None,
                allow=() if is_ip else tuple(a.lower().lstrip(".") for a in rule.allow),
                deny=() if is_ip else tuple(d.lower().lstrip(".") for d in rule.deny),
                wildcards=rule.wildcards,
                allow_networks=tuple(ipaddress.ip_network(a, strict=False) for a in rule.allow) if is_ip else (),
                deny_networks=tuple(ipaddress.ip_network(d, strict=False) for d in rule.deny) if is_ip else (),
            )
        )
    return SanRules(
        required=config.required, max_count=config.max, types=tuple(rules), copy_common_name=config.copy_common_name
    )


def _fixed_extensions(config: ExtensionsConfig) -> tuple[x509.Extension[x509.ExtensionType], ...]:
    """The profile's own extensions, DER-encoded once (see :mod:`chancery.pki.preencoded`)."""
    return tuple(encoded(extension) for extension in _typed_fixed_extensions(config))


def _typed_fixed_extensions(config: ExtensionsConfig) -> tuple[x509.Extension[x509.ExtensionType], ...]:
    extensions: list[x509.Extension[x509.ExtensionType]] = []
    if config.certificate_policies:  # RFC 5280 §4.2.1.4
        policies = []
        for policy in config.certificate_policies:
            qualifiers: list[str | x509.UserNotice] = list(policy.cps)
            if policy.notice:
                qualifiers.append(x509.UserNotice(None, policy.notice))
            policies.append(x509.PolicyInformation(names.oid(policy.oid), qualifiers or None))
        extensions.append(x509.Extension(x509.CertificatePolicies.oid, False, x509.CertificatePolicies(policies)))
    constraints = config.name_constraints
    if constraints is not None:  # RFC 5280 §4.2.1.10
        value = x509.NameConstraints(
            permitted_subtrees=[subtree(e) for e in constraints.permitted] or None,
            excluded_subtrees=[subtree(e) for e in constraints.excluded] or None,
        )
        extensions.append(x509.Extension(x509.NameConstraints.oid, constraints.critical, value))
    if config.ocsp_no_check:
        extensions.append(x509.Extension(x509.OCSPNoCheck.oid, False, x509.OCSPNoCheck()))  # RFC 6960 §4.2.2.2.1
    if config.must_staple:  # RFC 7633: TLS feature status_request
        feature = x509.TLSFeature([x509.TLSFeatureType.status_request])
        extensions.append(x509.Extension(x509.TLSFeature.oid, False, feature))
    for custom in config.custom:
        oid = names.oid(custom.oid)
        value = x509.UnrecognizedExtension(oid, bytes.fromhex(custom.value))
        extensions.append(x509.Extension(oid, custom.critical, value))
    return tuple(extensions)


def _key_rule(config: KeyConfig) -> KeyRule:
    return KeyRule(
        algorithm=config.algorithm,
        min_bits=config.min_bits,
        max_bits=config.max_bits,
        curves=frozenset(_CURVES[c] for c in config.curves),
    )


def _lint(config: LintConfig, ekus: tuple[x509.ObjectIdentifier, ...]) -> LintPolicy:
    if config.validators is not None:
        sets = tuple(LintSet(v) for v in config.validators)
    elif names.EXTENDED_KEY_USAGES["server_auth"] in ekus:  # by what the certificate is for; the
        sets = (LintSet.CABF_SERVERAUTH,)  # CA/Browser Forum sets include RFC 5280's checks
    elif names.EXTENDED_KEY_USAGES["email_protection"] in ekus:
        sets = (LintSet.CABF_SMIME,)
    else:
        sets = (LintSet.PKIX,)
    return LintPolicy(
        mode=LintMode(config.mode),
        sample_rate=config.sample_rate,
        sets=sets,
        accepted=tuple(AcceptedFinding(a.code, a.reason) for a in config.accept),
    )


def _from_pydantic(errors: list[Any]) -> list[SubError]:
    return [
        SubError(
            ".".join(str(p) for p in e.get("loc", ())) or "profile",
            str(e.get("msg", "invalid")).removeprefix("Value error, "),
        )
        for e in errors[:50]
    ]


def _raise_if(problems: list[SubError]) -> None:
    if problems:
        raise InvalidProfile(_summary(tuple(problems)), sub_errors=tuple(problems))


def _summary(problems: tuple[SubError, ...]) -> str:
    listed = "; ".join(f"{p.identifier}: {p.detail}" for p in problems[:10])
    more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
    return f"invalid profile: {listed}{more}"
