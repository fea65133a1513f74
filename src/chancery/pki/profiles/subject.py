"""Applying a subject-DN profile to the subject a request asks for."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from chancery.errors import RejectedIdentifier, SubError
from chancery.pki.profiles import names
from chancery.pki.profiles.model import Profile, RdnRule, StringSyntax, SubjectRules

_PRINTABLE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")
_SYNTAX = {
    StringSyntax.UTF8: _ASN1Type.UTF8String,
    StringSyntax.PRINTABLE: _ASN1Type.PrintableString,
    StringSyntax.IA5: _ASN1Type.IA5String,
}
# RFC 5280 Appendix A upper bounds (ub-*), in characters; X.520 for the street address.
UPPER_BOUNDS = {
    NameOID.COMMON_NAME: 64,
    NameOID.ORGANIZATION_NAME: 64,
    NameOID.ORGANIZATIONAL_UNIT_NAME: 64,
    NameOID.LOCALITY_NAME: 128,
    NameOID.STATE_OR_PROVINCE_NAME: 128,
    NameOID.STREET_ADDRESS: 128,
    NameOID.TITLE: 64,
    NameOID.SERIAL_NUMBER: 64,
    NameOID.PSEUDONYM: 128,
    NameOID.EMAIL_ADDRESS: 255,
    NameOID.POSTAL_CODE: 40,
    NameOID.COUNTRY_NAME: 2,
    NameOID.JURISDICTION_COUNTRY_NAME: 2,
}
# X.520 / RFC 5280 Appendix A: these must be PrintableString (and emailAddress IA5String).
_FORCED = {
    NameOID.COUNTRY_NAME: StringSyntax.PRINTABLE,
    NameOID.SERIAL_NUMBER: StringSyntax.PRINTABLE,
    NameOID.JURISDICTION_COUNTRY_NAME: StringSyntax.PRINTABLE,
    NameOID.DOMAIN_COMPONENT: StringSyntax.IA5,
    NameOID.EMAIL_ADDRESS: StringSyntax.IA5,
}


def subject_for(profile: Profile, requested: x509.Name) -> x509.Name:
    """The subject a certificate of ``profile`` carries for ``requested``: the DN rules applied,
    or (a profile without DN rules) the request's own subject within RFC 5280's bounds."""
    if profile.subject is None:
        return check_upper_bounds(requested)
    return apply_subject(profile.subject, requested)


def apply_subject(rules: SubjectRules, requested: x509.Name) -> x509.Name:
    """The certificate's subject: the request's attributes held to ``rules``, in the rules' order.

    Raises :class:`RejectedIdentifier` naming each RDN and the rule it breaks.
    """
    asked: dict[x509.ObjectIdentifier, list[str]] = {}
    for attribute in requested:
        if not isinstance(attribute.value, str):
            raise RejectedIdentifier(f"subject attribute {attribute.oid.dotted_string} is not a string")
        asked.setdefault(attribute.oid, []).append(attribute.value)
    problems: list[SubError] = []
    known = {rule.oid for rule in rules.rules}
    for oid in asked:
        if oid not in known:
            problems.append(SubError(f"subject.{names.label(oid)}", "not allowed by the subject profile"))
    attributes: list[x509.NameAttribute] = []
    for rule in rules.rules:
        for value in _values(rule, asked.get(rule.oid, []), problems):
            syntax = _FORCED.get(rule.oid) or rule.syntax or StringSyntax.UTF8
            attributes.append(x509.NameAttribute(rule.oid, value, _type=_SYNTAX[syntax]))
    if problems:
        detail = "; ".join(f"{p.identifier}: {p.detail}" for p in problems[:10])
        raise RejectedIdentifier(f"subject refused by profile {rules.name}: {detail}", sub_errors=tuple(problems))
    return x509.Name(attributes)


def check_upper_bounds(subject: x509.Name) -> x509.Name:
    """``subject`` unchanged when every attribute is within RFC 5280's upper bounds (profiles without DN rules)."""
    for attribute in subject:
        bound = UPPER_BOUNDS.get(attribute.oid)
        if bound is not None and isinstance(attribute.value, str) and len(attribute.value) > bound:
            label = names.label(attribute.oid)
            raise RejectedIdentifier(
                f"subject {label} is longer than {bound} characters (RFC 5280 Appendix A)",
                sub_errors=(SubError(f"subject.{label}", f"longer than {bound} characters"),),
            )
    return subject


def _values(rule: RdnRule, asked: list[str], problems: list[SubError]) -> list[str]:
    """The values the certificate carries for ``rule``: fixed, requested or the default."""
    where = f"subject.{rule.label}"
    fixed = rule.value if rule.value is not None else (None if rule.from_request else rule.default)
    if fixed is not None:
        if any(value != fixed for value in asked):
            why = "may not come from the request" if not rule.from_request else "is fixed"
            problems.append(SubError(where, f"{why}: the profile sets it to {fixed!r}"))
            return []
        values = [fixed]
    else:
        values = asked or ([rule.default] if rule.default is not None else [])
    if len(values) < rule.min_count:
        problems.append(SubError(where, "required" if rule.min_count == 1 else f"at least {rule.min_count} needed"))
    if len(values) > rule.max_count:
        problems.append(SubError(where, f"at most {rule.max_count} allowed, {len(values)} given"))
    for value in values:
        _check(rule, where, value, problems)
    return values


def _check(rule: RdnRule, where: str, value: str, problems: list[SubError]) -> None:
    if not value:
        problems.append(SubError(where, "empty value"))
    bounds = [b for b in (rule.max_length, UPPER_BOUNDS.get(rule.oid)) if b is not None]
    if bounds and len(value) > min(bounds):
        problems.append(SubError(where, f"longer than {min(bounds)} characters"))
    if rule.pattern is not None and not rule.pattern.fullmatch(value):
        problems.append(SubError(where, f"{value[:60]!r} does not match {rule.pattern.pattern!r}"))
    syntax = _FORCED.get(rule.oid) or rule.syntax
    if syntax is StringSyntax.PRINTABLE and not set(value) <= _PRINTABLE:
        problems.append(SubError(where, f"{value[:60]!r} is not a PrintableString (X.680 §41.4)"))
    if syntax is StringSyntax.IA5 and not value.isascii():
        problems.append(SubError(where, f"{value[:60]!r} is not an IA5String (ASCII)"))
