"""The pure rules of ACME validation: CAA decisions over parsed records (RFC 8659, RFC 8657), the grammar
of issue values, special-use addresses, and the validation settings (ports, resolver) at start-up."""

from __future__ import annotations

import ipaddress

import pytest

from chancery.errors import ConfigurationError
from chancery.services.validation import (
    CaaCheck,
    CaaRecord,
    ValidationSettings,
    caa_decision,
    parse_issue_value,
    parse_resolver,
    validation_settings,
)
from chancery.services.validation.addresses import special_use
from chancery.services.validation.caa import IssueValue
from chancery.settings import load_settings

CA = "chancery.example"
ACCOUNT = "https://ca.example/acme/acct/1"


def check(*, wildcard: bool = False, method: str = "http-01", account: str = ACCOUNT) -> CaaCheck:
    return CaaCheck("www.example.com", wildcard, (CA, "second-name.example"), account, method)


def issue(value: str, tag: str = "issue", flags: int = 0) -> CaaRecord:
    return CaaRecord(flags, tag, value)


CASES = [
    # (id, records, check, allowed)
    ("ok/no-records", [], check(), True),
    ("ok/issue-names-the-ca", [issue(CA)], check(), True),
    ("ok/second-identity", [issue("second-name.example")], check(), True),
    ("ok/case-and-space", [issue("  Chancery.EXAMPLE  ")], check(), True),
    ("ok/one-of-several", [issue("other.example"), issue(CA)], check(), True),
    ("ok/only-iodef", [issue("mailto:x@example.com", "iodef")], check(), True),
    ("ok/tag-case", [issue(CA, "ISSUE")], check(), True),
    ("ok/critical-known-tag", [issue(CA, flags=128)], check(), True),
    ("ok/noncritical-unknown-tag", [issue("whatever", "futuretag"), issue(CA)], check(), True),
    ("ok/wildcard-uses-issue-without-issuewild", [issue(CA)], check(wildcard=True), True),
    ("ok/issuewild-allows-wildcard", [issue(";"), issue(CA, "issuewild")], check(wildcard=True), True),
    ("ok/issuewild-ignored-for-names", [issue(CA), issue(";", "issuewild")], check(), True),
    ("ok/issuewild-only-for-names", [issue(";", "issuewild")], check(), True),
    ("ok/accounturi-matches", [issue(f"{CA}; accounturi={ACCOUNT}")], check(), True),
    ("ok/method-listed", [issue(f"{CA}; validationmethods=dns-01,http-01")], check(), True),
    ("ok/unknown-parameter-ignored", [issue(f"{CA}; policy=ev")], check(), True),
    ("ok/both-parameters", [issue(f"{CA};accounturi={ACCOUNT};validationmethods=http-01")], check(), True),
    ("fail/other-ca", [issue("other.example")], check(), False),
    ("fail/empty-issuer", [issue(";")], check(), False),
    ("fail/empty-value", [issue("")], check(), False),
    ("fail/critical-unknown-tag", [issue(CA), issue("x", "futuretag", 128)], check(), False),
    ("fail/critical-unknown-flag-bits", [issue(CA), issue("x", "tbs", 0x81)], check(), False),
    ("fail/issuewild-refuses-wildcard", [issue(CA), issue(";", "issuewild")], check(wildcard=True), False),
    ("fail/issuewild-other-ca", [issue(CA), issue("other.example", "issuewild")], check(wildcard=True), False),
    ("fail/accounturi-other", [issue(f"{CA}; accounturi=https://ca.example/acme/acct/2")], check(), False),
    ("fail/accounturi-twice", [issue(f"{CA}; accounturi={ACCOUNT}; accounturi={ACCOUNT}")], check(), False),
    ("fail/method-not-listed", [issue(f"{CA}; validationmethods=dns-01")], check(), False),
    ("fail/malformed-value", [issue(f"{CA} extra words")], check(), False),
    ("fail/malformed-parameter", [issue(f"{CA}; =novalue")], check(), False),
    ("fail/issuer-with-underscore", [issue("chancery_example")], check(), False),
]


@pytest.mark.parametrize(("records", "request_", "allowed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_caa_decision(records: list[CaaRecord], request_: CaaCheck, allowed: bool) -> None:
    outcome = caa_decision("example.com", records, request_)
    assert outcome.valid is allowed
    assert outcome.problem == (None if allowed else "caa")
    assert outcome.records[0]["relevantName"] == "example.com"


def test_caa_refusals_say_why() -> None:
    critical = caa_decision("example.com", [issue(CA), issue("x", "futuretag", 128)], check())
    assert critical.detail == "the CAA record at example.com has an unknown critical property 'futuretag'"
    other = caa_decision("example.com", [issue("other.example")], check(wildcard=True))
    assert other.detail == "the CAA records at example.com do not allow this CA to issue for *.www.example.com (issue)"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        pytest.param("ca.example", IssueValue("ca.example", ()), id="ok/name"),
        pytest.param(" ca.example ; a=1 ; b = x ", IssueValue("ca.example", (("a", "1"), ("b", "x"))), id="ok/spaces"),
        pytest.param(";", IssueValue("", ()), id="ok/nobody"),
        pytest.param("", IssueValue("", ()), id="ok/empty"),
        pytest.param("ca.example;", IssueValue("ca.example", ()), id="ok/trailing-semicolon"),
        pytest.param("ca.example; k=", IssueValue("ca.example", (("k", ""),)), id="ok/empty-parameter-value"),
        pytest.param("ca..example", None, id="fail/empty-label"),
        pytest.param("-ca.example", None, id="fail/leading-hyphen"),
        pytest.param("ca.example; k=v;;", None, id="fail/empty-parameter"),
        pytest.param("ca.example; k v", None, id="fail/no-equals"),
        pytest.param("ca.example; k=v w", None, id="fail/space-in-value"),
        pytest.param("ca.exämple", None, id="fail/non-ascii"),
    ],
)
def test_issue_value_grammar(text: str, parsed: IssueValue | None) -> None:
    assert parse_issue_value(text) == parsed


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("100.64.0.1", "reserved"),
        ("192.0.43.8", None),
        ("2001:4860:4860::8888", None),
    ],
)
def test_special_use_addresses(address: str, kind: str | None) -> None:
    assert special_use(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("127.0.0.1:8053", ("127.0.0.1", 8053)), ("192.0.2.53", ("192.0.2.53", 53)), ("[::1]:5353", ("::1", 5353))],
)
def test_resolver_parsed(text: str, parsed: tuple[str, int]) -> None:
    assert parse_resolver(text) == parsed


@pytest.mark.parametrize("text", ["dns.example:53", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000", "[::1", "::1:x"])
def test_bad_resolver_refused(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_resolver(text)


def test_validation_settings_from_the_wiring_values() -> None:
    assert validation_settings("127.0.0.1", 5002, 5001, "127.0.0.1:8053") == ValidationSettings(
        host_override="127.0.0.1", http01_port=5002, tlsalpn01_port=5001, dns_resolver=("127.0.0.1", 8053)
    )
    assert validation_settings(None, 80, 443, None) == ValidationSettings()
    with pytest.raises(ConfigurationError):
        ValidationSettings(http01_port=0)
    with pytest.raises(ConfigurationError):
        ValidationSettings(host_override="localhost")


def test_settings_read_the_acme_validation_environment(tmp_path) -> None:
    env = {
        "CHANCERY_DATA_DIR": str(tmp_path),
        "CHANCERY_ACME_VALIDATION_HOST": "127.0.0.1",
        "CHANCERY_ACME_HTTP01_PORT": "5002",
        "CHANCERY_ACME_TLSALPN01_PORT": "5001",
        "CHANCERY_ACME_DNS_RESOLVER": "127.0.0.1:8053",
    }
    settings = load_settings(env)
    assert (settings.acme_validation_host, settings.acme_http01_port, settings.acme_tlsalpn01_port) == (
        "127.0.0.1",
        5002,
        5001,
    )
    assert validation_settings(
        settings.acme_validation_host, settings.acme_http01_port, settings.acme_tlsalpn01_port,
        settings.acme_dns_resolver,
    ).dns_resolver == ("127.0.0.1", 8053)  # fmt: skip
    defaults = load_settings({"CHANCERY_DATA_DIR": str(tmp_path)})
    assert (defaults.acme_validation_host, defaults.acme_http01_port, defaults.acme_dns_resolver) == (None, 80, None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHANCERY_ACME_DNS_RESOLVER", "resolver.example:53"),
        ("CHANCERY_ACME_DNS_RESOLVER", "127.0.0.1:99999"),
        ("CHANCERY_ACME_DNS_RESOLVER", "127.0.0.1:x"),
        ("CHANCERY_ACME_VALIDATION_HOST", "not an address"),
        ("CHANCERY_ACME_HTTP01_PORT", "0"),
        ("CHANCERY_ACME_TLSALPN01_PORT", "65536"),
    ],
)
def test_bad_acme_settings_stop_start_up(tmp_path, name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name.removeprefix("CHANCERY_").lower()):
        load_settings({"CHANCERY_DATA_DIR": str(tmp_path), name: value})
