"""Validated profile configuration -> the immutable rules issuance applies.

Everything that can be wrong with a file was found by :mod:`.config`; compiling
turns names into OIDs, durations into timedeltas, regexes into patterns and
extensions into DER once, so that applying a profile per certificate is cheap.
"""

from __future__ import annotations

import ipaddress
import re

from cryptography import x509

from chancery.errors import SubError
from chancery.pki.lint import LintSet
from chancery.pki.preencoded import encoded
from chancery.pki.profiles import names
from chancery.pki.profiles.config import (
    ExtensionsConfig,
    KeyConfig,
    LintConfig,
    ProfileConfig,
    RdnConfig,
    SanConfig,
    SubjectConfig,
    SubjectProfileConfig,
    invalid,
    parse_duration,
)
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

_CURVES = {"P-256": "secp256r1", "P-384": "secp384r1", "P-521": "secp521r1"}


def compile_profile(config: ProfileConfig, version: int, subject: SubjectRules | None = None) -> Profile:
    """Build the runtime profile from a validated config; ``subject`` is the referenced
    subject-DN profile, already compiled (:class:`InvalidProfile` if it is missing)."""
    if config.subject_profile is not None and subject is None:
        raise invalid([SubError("subject_profile", f"no subject-DN profile named {config.subject_profile!r}")])
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
