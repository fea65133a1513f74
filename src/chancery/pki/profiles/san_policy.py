"""Applying a profile's SAN rules to the names a request asks for (RFC 5280 §4.2.1.6)."""

from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.x509.oid import NameOID

from chancery.errors import RejectedIdentifier
from chancery.pki.profiles.model import SanRules, SanTypeRule
from chancery.pki.sans import check_dns_name, format_san, san_kind, upn_value


def apply_sans(
    rules: SanRules, requested: tuple[x509.GeneralName, ...], subject: x509.Name, profile: str
) -> tuple[x509.GeneralName, ...]:
    """The SANs to certify; raise :class:`RejectedIdentifier` naming the name and the rule it breaks."""
    names = list(dict.fromkeys(requested)) if len(requested) > 1 else list(requested)  # duplicates once
    if rules.copy_common_name:
        names = _with_common_name(names, subject)
    if len(names) > rules.max_count:
        raise RejectedIdentifier(
            f"{len(names)} subject alternative names requested; profile {profile} allows at most {rules.max_count}"
        )
    for name in names:
        kind = san_kind(name)
        rule = rules.rule_for(kind)
        if rule is None:
            raise RejectedIdentifier(f"profile {profile} does not allow {kind} names ({format_san(name)[:80]})")
        _check(rule, name, profile)
    if rules.required and not names:
        kinds = "/".join(sorted(rules.kinds))
        raise RejectedIdentifier(f"profile {profile} needs at least one subject alternative name ({kinds})")
    if len(subject) == 0 and not names:
        raise RejectedIdentifier(
            "a certificate with an empty subject needs a subject alternative name (RFC 5280 §4.1.2.6)"
        )
    return tuple(names)


def _check(rule: SanTypeRule, name: x509.GeneralName, profile: str) -> None:
    if isinstance(name, x509.DNSName):  # the common case first, without formatting
        value = name.value
        check_dns_name(value)
        if value.startswith("*.") and not rule.wildcards:
            raise RejectedIdentifier(f"profile {profile} does not allow wildcard names ({value[:80]})")
        if rule.allow or rule.deny:
            _domain_rules(rule, value.removeprefix("*."), f"DNS:{value}", profile)
        if rule.pattern is not None and not rule.pattern.fullmatch(value):
            raise RejectedIdentifier(
                f"DNS:{value[:80]} does not match {rule.pattern.pattern!r} required by profile {profile}"
            )
        return
    text = format_san(name)
    value = text.split(":", 1)[1]
    if isinstance(name, x509.IPAddress):
        address = name.value
        if rule.allow_networks and not any(_contains(net, address) for net in rule.allow_networks):
            raise RejectedIdentifier(f"{text} is outside the networks profile {profile} allows")
        if any(_contains(net, address) for net in rule.deny_networks):
            raise RejectedIdentifier(f"{text} is in a network profile {profile} denies")
    elif isinstance(name, x509.RFC822Name) or (isinstance(name, x509.OtherName) and upn_value(name) is not None):
        _domain_rules(rule, value.rsplit("@", 1)[-1].lower(), text, profile)
    if rule.pattern is not None and not rule.pattern.fullmatch(value):
        raise RejectedIdentifier(f"{text[:80]} does not match {rule.pattern.pattern!r} required by profile {profile}")


def _domain_rules(rule: SanTypeRule, domain: str, text: str, profile: str) -> None:
    if rule.allow and not any(_under(domain, suffix) for suffix in rule.allow):
        raise RejectedIdentifier(
            f"{text[:80]} is outside the domains profile {profile} allows ({', '.join(rule.allow[:5])})"
        )
    if any(_under(domain, suffix) for suffix in rule.deny):
        raise RejectedIdentifier(f"{text[:80]} is in a domain profile {profile} denies")


def _under(domain: str, suffix: str) -> bool:
    return domain == suffix or domain.endswith("." + suffix)


def _contains(network: ipaddress.IPv4Network | ipaddress.IPv6Network, address: object) -> bool:
    return getattr(address, "version", None) == network.version and address in network  # type: ignore[operator]


def _with_common_name(names: list[x509.GeneralName], subject: x509.Name) -> list[x509.GeneralName]:
    """BR §7.1.4.3: a CN must also be a SAN; add it when it is a DNS name or IP address the request left out."""
    for attribute in subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        value = str(attribute.value).lower()
        if any(isinstance(n, x509.DNSName) and n.value == value for n in names):
            continue  # the usual case: the request lists it already
        candidate = _as_san(value)
        if candidate is not None and candidate not in names:
            names.append(candidate)
    return names


def _as_san(value: str) -> x509.GeneralName | None:
    if value[:1].isdigit() or ":" in value:
        try:
            return x509.IPAddress(ipaddress.ip_address(value))
        except ValueError:
            pass
    try:
        check_dns_name(value)
    except RejectedIdentifier:
        return None
    return x509.DNSName(value)
