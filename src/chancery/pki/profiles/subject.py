"""Applying a subject-DN profile to the subject a request asks for."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.name import _ASN1Type

from chancery.errors import RejectedIdentifier, SubError
from chancery.pki.profiles import names
from chancery.pki.profiles.model import Profile, RdnRule, StringSyntax, SubjectRules

_PRINTABLE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")
_SYNTAX = {
    StringSyntax.UTF8: _ASN1Type.UTF8String,
    StringSyntax.PRINTABLE: _ASN1Type.PrintableString,
    StringSyntax.IA5: _ASN1Type.IA5String,
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
    asked: dict[x509.ObjectIdentifier, list[x509.NameAttribute]] = {}
    for attribute in requested:
        if not isinstance(attribute.value, str):
            raise RejectedIdentifier(f"subject attribute {attribute.oid.dotted_string} is not a string")
        asked.setdefault(attribute.oid, []).append(attribute)
    problems: list[SubError] = []
    known = {rule.oid for rule in rules.rules}
    for oid in asked:
        if oid not in known:
            problems.append(SubError(f"subject.{names.label(oid)}", "not allowed by the subject profile"))
    attributes: list[x509.NameAttribute] = []
    for rule in rules.rules:
        given = asked.get(rule.oid, [])
        string_type = _SYNTAX[rule.syntax]
        for value in _values(rule, [str(a.value) for a in given], problems):
            same = next((a for a in given if a.value == value and a._type == string_type), None)
            attributes.append(same or x509.NameAttribute(rule.oid, value, _type=string_type))
    if problems:
        detail = "; ".join(f"{p.identifier}: {p.detail}" for p in problems[:10])
        raise RejectedIdentifier(f"subject refused by profile {rules.name}: {detail}", sub_errors=tuple(problems))
    if len(requested.rdns) == len(attributes) and all(a is b for a, b in zip(attributes, requested, strict=True)):
        return requested  # already as the rules want it: no new Name to build
    return x509.Name(attributes)


def check_upper_bounds(subject: x509.Name) -> x509.Name:
    """``subject`` unchanged when every attribute is within RFC 5280's upper bounds (profiles without DN rules)."""
    for attribute in subject:
        bound = names.UPPER_BOUNDS.get(attribute.oid)
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
    if rule.max_length is not None and len(value) > rule.max_length:
        problems.append(SubError(where, f"longer than {rule.max_length} characters"))
    if rule.pattern is not None and not rule.pattern.fullmatch(value):
        problems.append(SubError(where, f"{value[:60]!r} does not match {rule.pattern.pattern!r}"))
    syntax = rule.syntax
    if syntax is StringSyntax.PRINTABLE and not set(value) <= _PRINTABLE:
        problems.append(SubError(where, f"{value[:60]!r} is not a PrintableString (X.680 §41.4)"))
    if syntax is StringSyntax.IA5 and not value.isascii():
        problems.append(SubError(where, f"{value[:60]!r} is not an IA5String (ASCII)"))
