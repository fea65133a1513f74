"""CAA (RFC 8659, with the accounturi and validationmethods parameters of RFC 8657): may this CA issue for
a domain? :func:`caa_decision` is the pure rule over a parsed RRset; :func:`evaluate_caa` finds the RRset."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chancery.services.validation.addresses import Dns, literal_address
from chancery.services.validation.model import CaaCheck, Deadline, ValidationOutcome, printable

CRITICAL = 0x80  # RFC 8659 §4.1: the Issuer Critical Flag
# RFC 8659 §4 (issue, issuewild, iodef) and the other properties IANA registers: known, so a critical one
# does not stop issuance; only issue and issuewild restrict it.
KNOWN_TAGS = frozenset({"issue", "issuewild", "iodef", "contactemail", "contactphone", "issuemail", "issuevmc"})
_LABEL = r"[A-Za-z0-9](?:-*[A-Za-z0-9])*"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*", re.ASCII)
_PARAMETER = re.compile(rf"({_LABEL})[ \t]*=[ \t]*([\x21-\x3a\x3c-\x7e]*)", re.ASCII)


@dataclass(frozen=True)
class CaaRecord:
    flags: int
    tag: str
    value: str


@dataclass(frozen=True)
class IssueValue:
    """RFC 8659 §4.2: ``issuer-domain-name [; parameters]``; an empty name authorises no CA."""

    issuer: str
    parameters: tuple[tuple[str, str], ...]


def parse_issue_value(text: str) -> IssueValue | None:
    """The value of an issue or issuewild property, or ``None`` when it does not follow the grammar."""
    domain, _, rest = text.partition(";")
    domain = domain.strip(" \t")
    if domain and not _DOMAIN.fullmatch(domain):
        return None
    parameters: list[tuple[str, str]] = []
    rest = rest.strip(" \t")
    if rest:
        for part in rest.split(";"):
            match = _PARAMETER.fullmatch(part.strip(" \t"))
            if match is None:
                return None
            parameters.append((match.group(1).lower(), match.group(2)))
    tags = [tag for tag, _ in parameters]
    if len(set(tags)) != len(tags):
        return None  # RFC 8657 §3-4: a parameter given twice makes the property unusable
    return IssueValue(domain.lower(), tuple(parameters))


def caa_decision(owner: str, records: Sequence[CaaRecord], request: CaaCheck) -> ValidationOutcome:
    """RFC 8659 §4 over the relevant RRset found at ``owner`` (empty: no CAA, issuance allowed)."""
    record = {
        "caa": request.domain,
        "relevantName": owner,
        "records": [f"{r.flags} {r.tag} {r.value!r}" for r in records],
    }
    for caa in records:
        if caa.flags & CRITICAL and caa.tag.lower() not in KNOWN_TAGS:
            # RFC 8659 §4.1: an unknown property marked critical forbids issuance.
            detail = f"the CAA record at {owner} has an unknown critical property {printable(caa.tag)!r}"
            return ValidationOutcome(False, "caa", detail, (record,))
    issue = [r for r in records if r.tag.lower() == "issue"]
    issuewild = [r for r in records if r.tag.lower() == "issuewild"]
    # RFC 8659 §4.3: for a wildcard, issuewild properties take precedence over issue ones when present.
    relevant = issuewild if request.wildcard and issuewild else issue
    if not relevant:
        return ValidationOutcome(True, records=(record,))  # RFC 8659 §4.2: no issue property, no restriction
    if any(_authorises(parse_issue_value(r.value), request) for r in relevant):
        return ValidationOutcome(True, records=(record,))
    kind = "issuewild" if relevant is issuewild else "issue"
    detail = f"the CAA records at {owner} do not allow this CA to issue for {_name(request)} ({kind})"
    return ValidationOutcome(False, "caa", detail, (record,))


def _authorises(value: IssueValue | None, request: CaaCheck) -> bool:
    if value is None or not value.issuer:
        return False
    if value.issuer.rstrip(".") not in {identity.lower().rstrip(".") for identity in request.identities}:
        return False
    parameters = dict(value.parameters)
    # RFC 8657 §3: accounturi limits issuance to that ACME account.
    if "accounturi" in parameters and parameters["accounturi"] != request.account_uri:
        return False
    # RFC 8657 §4: validationmethods limits issuance to those methods (ACME challenge type names).
    if "validationmethods" in parameters:
        methods = {m.strip().lower() for m in parameters["validationmethods"].split(",")}
        if request.method.lower() not in methods:
            return False
    return True  # other parameters are the CA's own and unknown to it: ignored (RFC 8659 §4.2)


def evaluate_caa(request: CaaCheck, resolver: Dns, deadline: Deadline) -> ValidationOutcome:
    """Find the relevant RRset (RFC 8659 §3: the domain, then each parent up to the top-level domain)
    and decide. A lookup that fails is no answer: issuance is not allowed on it."""
    domain = request.domain.strip().rstrip(".").lower()
    if not request.identities:
        return ValidationOutcome(True, detail="CAA is not checked")
    if literal_address(domain) is not None:
        return ValidationOutcome(True, detail="CAA does not apply to IP addresses")  # RFC 8738 §7
    if domain.startswith("*."):
        domain = domain[2:]
    labels = domain.split(".")
    for start in range(len(labels)):
        owner = ".".join(labels[start:])
        answer = resolver.query(owner, "CAA", deadline)
        found = tuple(
            CaaRecord(rdata.flags, rdata.tag.decode("ascii", "replace"), rdata.value.decode("utf-8", "replace"))  # type: ignore[attr-defined]
            for rdata in answer.rdatas
        )
        if found:
            return caa_decision(owner, found, request)
    return caa_decision(domain, (), request)


def _name(request: CaaCheck) -> str:
    return f"*.{request.domain}" if request.wildcard else request.domain
