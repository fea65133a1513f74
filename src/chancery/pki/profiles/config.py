"""Profile documents -> validated configuration, every problem reported at once.

``ProfileConfig`` and ``SubjectProfileConfig`` mirror the file (unknown keys are
refused). :func:`load_document` collects every problem, field checks and the
rules between fields alike (:class:`InvalidProfile`, one sub-error per field), so
a profile is never half-applied; :mod:`.compiler` then builds the rules.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Annotated, Any, Literal

from cryptography import x509
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chancery.errors import CAError, Malformed, SubError
from chancery.pki.profiles import names
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


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"regex does not compile: {exc}") from None
    return value


def _dotted(value: str) -> str:
    names.oid(value)
    return value


def _key_usage(value: str) -> str:
    if value not in names.KEY_USAGES:
        raise ValueError(f"unknown key usage {value!r}; use {', '.join(names.KEY_USAGES)}")
    return value


Regex = Annotated[str, Field(max_length=1000), AfterValidator(_compiles)]
Oid = Annotated[str, Field(max_length=200), AfterValidator(_dotted)]
KeyUsageName = Annotated[str, AfterValidator(_key_usage)]


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
    regex: Regex | None = None
    max_length: int | None = Field(default=None, ge=1, le=1024)
    value: str | None = Field(default=None, max_length=1024)
    default: str | None = Field(default=None, max_length=1024)
    from_request: bool = True

    @field_validator("attribute")
    @classmethod
    def _attribute(cls, value: str) -> str:
        names.attribute(value)
        return value

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
    regex: Regex | None = None
    allow: list[str] = Field(default_factory=list, max_length=1000)
    deny: list[str] = Field(default_factory=list, max_length=1000)
    wildcards: bool = True


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
    oid: Oid
    cps: list[str] = Field(default_factory=list, max_length=8)
    notice: str | None = Field(default=None, max_length=200)


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
    oid: Oid
    critical: bool = False
    value: str = Field(max_length=16384, description="the extension value's DER, in hex")

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
    pass_through: list[Oid] = Field(default_factory=list, max_length=32)
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
    def _not_managed(cls, value: list[str]) -> list[str]:
        for item in value:
            if x509.ObjectIdentifier(item) in MANAGED_EXTENSIONS:
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
        raise invalid(problems)


def invalid(problems: list[SubError]) -> InvalidProfile:
    """The error listing ``problems`` (each names its field)."""
    return InvalidProfile(_summary(tuple(problems)), sub_errors=tuple(problems))


def _summary(problems: tuple[SubError, ...]) -> str:
    listed = "; ".join(f"{p.identifier}: {p.detail}" for p in problems[:10])
    more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
    return f"invalid profile: {listed}{more}"
