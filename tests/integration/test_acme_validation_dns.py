"""dns-01 (RFC 8555 §8.4), address resolution and CAA (RFC 8659, RFC 8657) through a real DNS server:
Pebble's pebble-challtestsrv on 127.0.0.1, its records set over its management API."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from chancery.services.validation import (
    CaaCheck,
    ChallengeCheck,
    ChallengeValidator,
    ValidationOutcome,
    ValidationSettings,
)
from chancery.services.validation.addresses import Dns, resolve_redirect
from chancery.services.validation.model import Deadline, Failed, sha256_b64url
from tests.support.acme_challenges import ChallTestSrv
from tests.support.receivers import free_port

pytestmark = pytest.mark.integration

TOKEN = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
KEY_AUTHORIZATION = TOKEN + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
DIGEST = sha256_b64url(KEY_AUTHORIZATION)
CA = "chancery.example"
ACCOUNT = "https://ca.example/acme/acct/7"


@pytest.fixture(scope="module")
def dns_server() -> Iterator[ChallTestSrv]:
    if shutil.which("pebble-challtestsrv") is None:
        pytest.skip("pebble-challtestsrv is not installed (Debian package pebble)")
    server = ChallTestSrv()
    yield server
    server.close()


@pytest.fixture(scope="module")
def validator(dns_server: ChallTestSrv) -> Iterator[ChallengeValidator]:
    validator = ChallengeValidator(ValidationSettings(dns_resolver=dns_server.resolver, timeout_seconds=5))
    yield validator
    validator.close()


def dns01(identifier: str) -> ChallengeCheck:
    return ChallengeCheck("dns-01", "dns", identifier, TOKEN, KEY_AUTHORIZATION)


# -- dns-01 ---------------------------------------------------------------------------------------------


def test_dns01_txt_record_with_the_digest_is_valid(dns_server: ChallTestSrv, validator: ChallengeValidator) -> None:
    dns_server.set_txt("_acme-challenge.ok.example.com", DIGEST)
    outcome = validator.validate(dns01("ok.example.com"))
    assert outcome.valid, outcome
    assert outcome.records == (
        {
            "hostname": "ok.example.com",
            "name": "_acme-challenge.ok.example.com",
            "resolver": f"127.0.0.1:{dns_server.dns_port}",
        },
    )


def test_dns01_one_of_several_txt_records_is_enough(dns_server: ChallTestSrv, validator: ChallengeValidator) -> None:
    for value in ("stale-value-from-yesterday", DIGEST, "another"):
        dns_server.set_txt("_acme-challenge.several.example.com", value)
    assert validator.validate(dns01("several.example.com")).valid


def test_dns01_cname_is_followed(dns_server: ChallTestSrv, validator: ChallengeValidator) -> None:
    dns_server.set_cname("_acme-challenge.alias.example.com", "alias.acme-delegation.example.net")
    dns_server.set_txt("alias.acme-delegation.example.net", DIGEST)
    outcome = validator.validate(dns01("alias.example.com"))
    assert outcome.valid, outcome
    assert outcome.records[0]["resolved"] == "alias.acme-delegation.example.net"


def test_dns01_wrong_digest_is_unauthorized(dns_server: ChallTestSrv, validator: ChallengeValidator) -> None:
    dns_server.set_txt("_acme-challenge.wrong.example.com", sha256_b64url("another key authorization"))
    dns_server.set_txt("_acme-challenge.wrong.example.com", "\x00\x01 binary junk")
    outcome = validator.validate(dns01("wrong.example.com"))
    assert (outcome.valid, outcome.problem) == (False, "unauthorized")
    assert "incorrect TXT record at _acme-challenge.wrong.example.com" in outcome.detail
    assert "?" in outcome.detail  # what is unprintable is not echoed as it is


def test_dns01_missing_txt_record_is_unauthorized(validator: ChallengeValidator) -> None:
    outcome = validator.validate(dns01("nothing.example.com"))
    assert (outcome.problem, outcome.detail) == (
        "unauthorized",
        "no TXT record found at _acme-challenge.nothing.example.com",
    )


def test_dns01_servfail_is_a_dns_problem(dns_server: ChallTestSrv, validator: ChallengeValidator) -> None:
    dns_server.servfail("_acme-challenge.broken.example.com")
    outcome = validator.validate(dns01("broken.example.com"))
    assert outcome.problem == "dns" and "SERVFAIL" in outcome.detail


def test_dns01_resolver_that_never_answers_times_out() -> None:
    silent_port = free_port()  # nothing answers UDP there
    validator = ChallengeValidator(ValidationSettings(dns_resolver=("127.0.0.1", silent_port), timeout_seconds=0.5))
    try:
        outcome = validator.validate(dns01("www.example.com"))
    finally:
        validator.close()
    assert outcome.problem == "dns" and not outcome.valid


def test_dns01_for_an_ip_identifier_is_malformed(validator: ChallengeValidator) -> None:
    outcome = validator.validate(ChallengeCheck("dns-01", "ip", "192.0.2.1", TOKEN, KEY_AUTHORIZATION))
    assert outcome.problem == "malformed"


# -- resolution without the test override --------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"), [("169.254.169.254", "link-local"), ("127.0.0.2", "loopback"), ("0.0.0.0", "unspecified")]
)
def test_names_resolving_to_special_addresses_are_not_reached(
    dns_server: ChallTestSrv, validator: ChallengeValidator, address: str, kind: str
) -> None:
    name = f"{kind}.resolve.example.com"
    dns_server.add_a(name, address)
    outcome = validator.validate(ChallengeCheck("http-01", "dns", name, TOKEN, KEY_AUTHORIZATION))
    assert (outcome.problem, outcome.detail) == (
        "connection",
        f"{name} resolves to {address} ({kind} address), which is never reached",
    )


def test_redirect_target_names_are_looked_up_and_refused_when_special(dns_server: ChallTestSrv) -> None:
    # End to end this needs a first hop reachable without the test override (loopback is refused there),
    # so the redirect rule is exercised directly, against the real DNS server.
    settings = ValidationSettings(dns_resolver=dns_server.resolver)
    resolver = Dns(settings.dns_resolver)
    dns_server.add_a("metadata.rebind.example.com", "169.254.169.254")
    with pytest.raises(
        Failed, match=r"metadata.rebind.example.com is refused: it resolves to 169\.254\.169\.254 \(link"
    ):
        resolve_redirect("metadata.rebind.example.com", settings, resolver, Deadline(5))
    dns_server.add_a("public.rebind.example.com", "192.0.43.8")  # a global address: followed
    assert resolve_redirect("public.rebind.example.com", settings, resolver, Deadline(5)).addresses == ("192.0.43.8",)


def test_name_without_addresses_is_a_dns_problem(dns_server: ChallTestSrv, validator: ChallengeValidator) -> None:
    dns_server.post("set-default-ipv4", {"ip": ""})
    try:
        outcome = validator.validate(
            ChallengeCheck("tls-alpn-01", "dns", "noaddr.example.com", TOKEN, KEY_AUTHORIZATION)
        )
    finally:
        dns_server.post("set-default-ipv4", {"ip": "127.0.0.1"})
    assert (outcome.problem, outcome.detail) == ("dns", "no A or AAAA record found for noaddr.example.com")


# -- CAA -------------------------------------------------------------------------------------------------


def caa(domain: str, *, wildcard: bool = False, method: str = "http-01", identities=(CA,)) -> CaaCheck:
    return CaaCheck(domain, wildcard, tuple(identities), ACCOUNT, method)


def test_caa_absent_everywhere_allows(validator: ChallengeValidator) -> None:
    assert validator.check_caa(caa("no-caa.example.org")) == ValidationOutcome(True, records=(
        {"caa": "no-caa.example.org", "relevantName": "no-caa.example.org", "records": []},
    ))  # fmt: skip


def test_caa_found_by_climbing_to_the_parent(dns_server: ChallTestSrv, validator: ChallengeValidator) -> None:
    dns_server.add_caa("climb.example", ("issue", CA), ("iodef", "mailto:security@climb.example"))
    outcome = validator.check_caa(caa("deep.www.climb.example"))
    assert outcome.valid, outcome
    assert outcome.records[0]["relevantName"] == "climb.example"
    refused = validator.check_caa(caa("deep.www.climb.example", identities=("other-ca.example",)))
    assert (refused.problem, refused.detail) == (
        "caa",
        "the CAA records at climb.example do not allow this CA to issue for deep.www.climb.example (issue)",
    )


def test_caa_issuewild_governs_wildcards(dns_server: ChallTestSrv, validator: ChallengeValidator) -> None:
    dns_server.add_caa("wild.example", ("issue", CA), ("issuewild", ";"))
    assert validator.check_caa(caa("wild.example")).valid
    refused = validator.check_caa(caa("wild.example", wildcard=True))
    assert refused.problem == "caa" and "issuewild" in refused.detail


def test_caa_account_and_method_parameters(dns_server: ChallTestSrv, validator: ChallengeValidator) -> None:
    dns_server.add_caa("bound.example", ("issue", f"{CA}; accounturi={ACCOUNT}; validationmethods=dns-01,tls-alpn-01"))
    assert validator.check_caa(caa("bound.example", method="dns-01")).valid
    assert validator.check_caa(caa("bound.example", method="http-01")).problem == "caa"
    other = CaaCheck("bound.example", False, (CA,), "https://ca.example/acme/acct/8", "dns-01")
    assert validator.check_caa(other).problem == "caa"


def test_caa_not_checked_without_identities_or_for_addresses(validator: ChallengeValidator) -> None:
    assert validator.check_caa(caa("anything.example", identities=())).valid
    assert validator.check_caa(caa("192.0.2.1")).valid


def test_caa_lookup_failure_is_not_permission(dns_server: ChallTestSrv, validator: ChallengeValidator) -> None:
    dns_server.servfail("servfail.caa.example")
    outcome = validator.check_caa(caa("servfail.caa.example"))
    assert (outcome.valid, outcome.problem) == (False, "dns")
    assert outcome.detail.startswith("CAA lookup failed")
