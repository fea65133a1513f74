"""dns-01 (RFC 8555 §8.4): a TXT record at ``_acme-challenge.{identifier}`` holding base64url(SHA-256(key
authorization)), looked up through the configured resolver, CNAMEs followed."""

from __future__ import annotations

import hmac

from chancery.services.validation.addresses import Dns
from chancery.services.validation.model import ChallengeCheck, Deadline, Failed, printable, sha256_b64url

LABEL = "_acme-challenge"
MAX_SHOWN = 3  # TXT values named in a failure's detail


def validate_dns01(check: ChallengeCheck, resolver: Dns, deadline: Deadline, records: list) -> None:
    """Returns when one TXT record holds the digest; :class:`Failed` says why none did."""
    if check.identifier_type != "dns":
        # RFC 8738 §7: dns-01 cannot prove control of an IP address.
        raise Failed("malformed", "dns-01 cannot validate an ip identifier; use http-01 or tls-alpn-01")
    name = f"{LABEL}.{check.identifier.rstrip('.')}"
    answer = resolver.query(name, "TXT", deadline)
    record: dict[str, object] = {"hostname": check.identifier, "name": name, "resolver": resolver.description}
    if answer.canonical_name.rstrip(".").lower() != name.lower():
        record["resolved"] = answer.canonical_name.rstrip(".")  # where the CNAMEs led
    records.append(record)
    if not answer.exists:
        raise Failed("dns", f"no TXT record found at {name}: the name does not exist (NXDOMAIN)")
    # RFC 1035 §3.3.14: a TXT record is one or more strings; its value is them joined.
    values = [b"".join(rdata.strings) for rdata in answer.rdatas]  # type: ignore[attr-defined]
    if not values:
        raise Failed("unauthorized", f"no TXT record found at {name}")
    expected = sha256_b64url(check.key_authorization).encode("ascii")
    matched = False
    for value in values:  # every value is compared, so the time taken does not tell which one matched
        matched |= hmac.compare_digest(value, expected)
    if matched:
        return
    shown = ", ".join(repr(printable(v)) for v in values[:MAX_SHOWN]) + (" ..." if len(values) > MAX_SHOWN else "")
    raise Failed("unauthorized", f"incorrect TXT record at {name}: found {shown}")
