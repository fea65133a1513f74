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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chancery.errors import Malformed, SubError
from chancery.pki.lint import LintSet
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


class KeyConfig(BaseModel):
    model_config = _STRICT
    algorithm: Literal["rsa", "ec", "ed25519", "ed448"]
    min_bits: int = Field(default=2048, ge=2048, le=8192)
    max_bits: int = Field(default=8192, ge=2048, le=8192)
    curves: list[Literal["P-256", "P-384", "P-521"]] = Field(default_factory=lambda: ["P-256", "P-384", "P-521"])


class UsageConfig(BaseModel):
    model_config = _STRICT
    critical: bool
    usages: list[str]


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
    critical: bool = True
    permitted: list[str] = Field(default_factory=list)
    excluded: list[str] = Field(default_factory=list)


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
    certificate_policies: list[PolicyConfig] = Field(default_factory=list)
    name_constraints: NameConstraintsConfig | None = None
    ocsp_no_check: bool = False
    must_staple: bool = False
    custom: list[CustomExtensionConfig] = Field(default_factory=list)


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
    key_usage: UsageConfig
    extended_key_usage: UsageConfig | None = None
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
    try:
        return model.model_validate(document)  # type: ignore[return-value]
    except ValidationError as exc:
        raise _invalid(exc.errors()) from None


def compile_subject(config: SubjectProfileConfig | SubjectConfig, name: str, version: int) -> SubjectRules:
    problems: list[SubError] = []
    rules = tuple(_rdn_rule(rule, f"rules[{i}]", problems) for i, rule in enumerate(config.rules))
    _raise_if(problems)
    return SubjectRules(name=name, version=version, rules=rules)


def compile_profile(config: ProfileConfig, version: int, subject: SubjectRules | None = None) -> Profile:
    """Build the runtime profile; ``subject`` is the referenced subject-DN profile, already compiled."""
    problems: list[SubError] = []
    default, maximum = parse_duration(config.validity.default), parse_duration(config.validity.max)
    backdate = parse_duration(config.validity.backdate)
    if not dt.timedelta(0) < default <= maximum:
        problems.append(SubError("validity.default", "must be positive and at most validity.max"))
    if maximum > MAX_VALIDITY:
        problems.append(SubError("validity.max", "at most 100 years"))
    if backdate > dt.timedelta(days=1):
        problems.append(SubError("validity.backdate", "at most 1 day"))
    key_usage = frozenset(config.key_usage.usages)
    for usage in key_usage - names.KEY_USAGES:
        problems.append(
            SubError("key_usage.usages", f"unknown key usage {usage!r}; use {', '.join(sorted(names.KEY_USAGES))}")
        )
    kind = ProfileKind(config.kind)
    if (kind is not ProfileKind.LEAF) != ("key_cert_sign" in key_usage):
        problems.append(
            SubError("key_usage.usages", "key_cert_sign is required for CA and root profiles, and only for them")
        )
    ekus = _ekus(config, problems)
    if config.path_length is not None and kind is ProfileKind.LEAF:
        problems.append(SubError("path_length", "only CA profiles have a path length"))
    if config.subject_key_identifier == "none" and kind is not ProfileKind.LEAF:
        problems.append(SubError("subject_key_identifier", "CA certificates must carry one (RFC 5280 §4.2.1.2)"))
    if config.subject_profile is not None and subject is None:
        problems.append(SubError("subject_profile", f"no subject-DN profile named {config.subject_profile!r}"))
    if config.subject is not None and config.subject_profile is not None:
        problems.append(SubError("subject", "give subject rules or a subject_profile, not both"))
    if config.subject is not None:
        try:
            subject = compile_subject(config.subject, config.name, version)
        except InvalidProfile as exc:
            problems.extend(SubError(f"subject.{e.identifier}", e.detail) for e in exc.sub_errors)
    sans = _sans(config.sans, problems)
    if config.extensions.name_constraints is not None and kind is ProfileKind.LEAF:
        problems.append(
            SubError("extensions.name_constraints", "name constraints belong in CA profiles (RFC 5280 §4.2.1.10)")
        )
    fixed = _fixed_extensions(config.extensions, problems)
    pass_through = frozenset(names.oid(o) for o in config.pass_through)
    _raise_if(problems)
    return Profile(
        name=config.name,
        kind=kind,
        version=version,
        description=config.description,
        default_validity=default,
        max_validity=maximum,
        backdate=backdate,
        key_usage=key_usage,
        key_usage_critical=config.key_usage.critical,
        extended_key_usage=ekus,
        extended_key_usage_critical=config.extended_key_usage.critical if config.extended_key_usage else False,
        keys=tuple(_key_rule(k) for k in config.keys),
        path_length=config.path_length,
        subject=subject,
        sans=sans,
        pass_through=pass_through,
        fixed_extensions=fixed,
        subject_key_identifier=config.subject_key_identifier,
        signature_hash=config.signature_hash,
        cas=frozenset(config.cas),
        lint=_lint(config.lint, ekus),
    )


def _ekus(config: ProfileConfig, problems: list[SubError]) -> tuple[x509.ObjectIdentifier, ...]:
    if config.extended_key_usage is None:
        return ()
    result = []
    for usage in config.extended_key_usage.usages:
        try:
            result.append(names.extended_key_usage(usage))
        except ValueError:
            known = ", ".join(names.EXTENDED_KEY_USAGES)
            problems.append(
                SubError("extended_key_usage.usages", f"unknown usage {usage!r}: use a dotted OID or {known}")
            )
    return tuple(result)


def _rdn_rule(config: RdnConfig, where: str, problems: list[SubError]) -> RdnRule:
    oid, label = names.attribute(config.attribute)
    if config.min > config.max:
        problems.append(SubError(f"{where}.min", "min is larger than max"))
    if config.required and config.min == 0:
        config = config.model_copy(update={"min": 1})
    if not config.from_request and config.value is None and config.default is None:
        problems.append(SubError(f"{where}.value", "an attribute that does not come from the request needs a value"))
    return RdnRule(
        oid=oid,
        label=label,
        required=config.required,
        min_count=config.min,
        max_count=config.max,
        syntax=StringSyntax(config.syntax) if config.syntax else None,
        pattern=re.compile(config.regex) if config.regex else None,
        max_length=config.max_length,
        value=config.value,
        default=config.default,
        from_request=config.from_request,
    )


def _sans(config: SanConfig, problems: list[SubError]) -> SanRules:
    rules = []
    for kind, rule in config.types.items():
        allow_networks, deny_networks = [], []
        if kind == "IP":
            for label, entries, into in (("allow", rule.allow, allow_networks), ("deny", rule.deny, deny_networks)):
                for entry in entries:
                    try:
                        into.append(ipaddress.ip_network(entry, strict=False))
                    except ValueError:
                        problems.append(SubError(f"sans.types.IP.{label}", f"{entry!r} is not an IP network"))
        rules.append(
            SanTypeRule(
                kind=kind,
                pattern=re.compile(rule.regex) if rule.regex else None,
                allow=tuple(a.lower().lstrip(".") for a in rule.allow) if kind != "IP" else (),
                deny=tuple(d.lower().lstrip(".") for d in rule.deny) if kind != "IP" else (),
                wildcards=rule.wildcards,
                allow_networks=tuple(allow_networks),
                deny_networks=tuple(deny_networks),
            )
        )
    if config.required and not rules:
        problems.append(SubError("sans.types", "SANs are required but no SAN type is allowed"))
    return SanRules(
        required=config.required, max_count=config.max, types=tuple(rules), copy_common_name=config.copy_common_name
    )


def _fixed_extensions(
    config: ExtensionsConfig, problems: list[SubError]
) -> tuple[x509.Extension[x509.ExtensionType], ...]:
    extensions: list[x509.Extension[x509.ExtensionType]] = []
    if config.certificate_policies:
        policies = []
        for policy in config.certificate_policies:
            qualifiers: list[str | x509.UserNotice] = list(policy.cps)
            if policy.notice:
                qualifiers.append(x509.UserNotice(None, policy.notice))
            policies.append(x509.PolicyInformation(names.oid(policy.oid), qualifiers or None))
        extensions.append(x509.Extension(x509.CertificatePolicies.oid, False, x509.CertificatePolicies(policies)))
    if config.name_constraints is not None:
        constraints = _name_constraints(config.name_constraints, problems)
        if constraints is not None:
            extensions.append(x509.Extension(x509.NameConstraints.oid, config.name_constraints.critical, constraints))
    if config.ocsp_no_check:
        extensions.append(x509.Extension(x509.OCSPNoCheck.oid, False, x509.OCSPNoCheck()))  # RFC 6960 §4.2.2.2.1
    if config.must_staple:  # RFC 7633: TLS feature status_request
        feature = x509.TLSFeature([x509.TLSFeatureType.status_request])
        extensions.append(x509.Extension(x509.TLSFeature.oid, False, feature))
    seen = {e.oid for e in extensions}
    for i, custom in enumerate(config.custom):
        oid = names.oid(custom.oid)
        if oid in seen or oid in MANAGED_EXTENSIONS:
            problems.append(SubError(f"extensions.custom[{i}].oid", f"{custom.oid} is set by Chancery or twice"))
            continue
        seen.add(oid)
        value = x509.UnrecognizedExtension(oid, bytes.fromhex(custom.value))
        extensions.append(x509.Extension(oid, custom.critical, value))
    return tuple(extensions)


def _name_constraints(config: NameConstraintsConfig, problems: list[SubError]) -> x509.NameConstraints | None:
    from chancery.pki.sans import subtree

    permitted, excluded = [], []
    for label, entries, into in (("permitted", config.permitted, permitted), ("excluded", config.excluded, excluded)):
        for entry in entries:
            try:
                into.append(subtree(entry))
            except (Malformed, ValueError) as exc:
                problems.append(SubError(f"extensions.name_constraints.{label}", getattr(exc, "detail", str(exc))))
    if not permitted and not excluded:
        problems.append(SubError("extensions.name_constraints", "needs permitted or excluded subtrees"))
        return None
    return x509.NameConstraints(permitted_subtrees=permitted or None, excluded_subtrees=excluded or None)


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


def _invalid(errors: list[Any]) -> InvalidProfile:
    subs = tuple(
        SubError(
            ".".join(str(p) for p in e.get("loc", ())) or "profile",
            str(e.get("msg", "invalid")).removeprefix("Value error, "),
        )
        for e in errors[:50]
    )
    return InvalidProfile(_summary(subs), sub_errors=subs)


def _raise_if(problems: list[SubError]) -> None:
    if problems:
        raise InvalidProfile(_summary(tuple(problems)), sub_errors=tuple(problems))


def _summary(problems: tuple[SubError, ...]) -> str:
    listed = "; ".join(f"{p.identifier}: {p.detail}" for p in problems[:10])
    more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
    return f"invalid profile: {listed}{more}"
