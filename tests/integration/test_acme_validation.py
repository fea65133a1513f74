"""ACME http-01 and tls-alpn-01 validation (RFC 8555 §8.3, RFC 8737, RFC 8738) against real servers on
127.0.0.1: every identifier resolves there through the test override, as the ACME interop tests set it."""

from __future__ import annotations

import dataclasses
import queue
from collections.abc import Iterator

import pytest

from chancery.services.validation import ChallengeCheck, ChallengeValidator, ValidationOutcome, ValidationSettings
from tests.support.acme_challenges import (
    Answer,
    HttpChallengeServer,
    SilentServer,
    TlsServer,
    alpn_certificate,
    dns_names,
    ip_names,
)
from tests.support.receivers import free_port

pytestmark = pytest.mark.integration

TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
KEY_AUTHORIZATION = TOKEN + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
PATH = f"/.well-known/acme-challenge/{TOKEN}"
NAME = "www.example.com"


def http01(identifier: str = NAME, identifier_type: str = "dns", key_authorization: str = KEY_AUTHORIZATION):
    return ChallengeCheck("http-01", identifier_type, identifier, TOKEN, key_authorization)


def alpn01(identifier: str = NAME, identifier_type: str = "dns") -> ChallengeCheck:
    return ChallengeCheck("tls-alpn-01", identifier_type, identifier, TOKEN, KEY_AUTHORIZATION)


@pytest.fixture
def web() -> Iterator[HttpChallengeServer]:
    server = HttpChallengeServer()
    yield server
    server.close()


def validator_for(http_port: int = 80, alpn_port: int = 443, **overrides: object) -> ChallengeValidator:
    settings = ValidationSettings(host_override="127.0.0.1", http01_port=http_port, tlsalpn01_port=alpn_port)
    return ChallengeValidator(dataclasses.replace(settings, **overrides))  # type: ignore[arg-type]


def validate(check: ChallengeCheck, **settings: object) -> ValidationOutcome:
    validator = validator_for(**settings)  # type: ignore[arg-type]
    try:
        return validator.validate(check)
    finally:
        validator.close()


# -- http-01 ---------------------------------------------------------------------------------------


def test_http01_key_authorization_served_is_valid(web: HttpChallengeServer) -> None:
    web.answers[PATH] = Answer(body=KEY_AUTHORIZATION.encode() + b"\r\n\t ")  # RFC 8555 §8.3: trailing space ignored
    outcome = validate(http01(), http_port=web.port)
    assert outcome == ValidationOutcome(True, records=outcome.records)
    assert web.requests == [(PATH, f"{NAME}:{web.port}")]  # the identifier as Host, the resolved address dialled
    (record,) = outcome.records
    assert record["url"] == f"http://{NAME}:{web.port}{PATH}"
    assert record["hostname"] == NAME and record["port"] == web.port
    assert record["addressUsed"] == "127.0.0.1" and record["addressesResolved"] == ["127.0.0.1"]


def test_http01_ip_identifier_connects_to_the_address(web: HttpChallengeServer) -> None:
    web.answers[PATH] = Answer(body=KEY_AUTHORIZATION.encode())
    outcome = validate(http01("192.0.2.1", "ip"), http_port=web.port)
    assert outcome.valid, outcome
    assert web.requests == [(PATH, f"192.0.2.1:{web.port}")]


@pytest.mark.parametrize(
    ("answer", "problem", "detail"),
    [
        pytest.param(Answer(body=b"not the key authorization"), "unauthorized", "does not match", id="fail/wrong-body"),
        pytest.param(
            Answer(body=KEY_AUTHORIZATION.encode()[:-1]), "unauthorized", "does not match", id="fail/truncated"
        ),
        pytest.param(
            Answer(body=b" " + KEY_AUTHORIZATION.encode()), "unauthorized", "does not match", id="fail/lead-space"
        ),
        pytest.param(Answer(404, b"nope"), "unauthorized", "HTTP 404", id="fail/404"),
        pytest.param(Answer(500, KEY_AUTHORIZATION.encode()), "unauthorized", "HTTP 500", id="fail/500-right-body"),
        pytest.param(Answer(302), "unauthorized", "HTTP 302", id="fail/redirect-without-location"),
        pytest.param(Answer(mode="garbage"), "connection", "malformed HTTP response", id="fail/not-http"),
    ],
)
def test_http01_wrong_answers_fail(web: HttpChallengeServer, answer: Answer, problem: str, detail: str) -> None:
    web.answers[PATH] = answer
    outcome = validate(http01(), http_port=web.port)
    assert (outcome.valid, outcome.problem) == (False, problem)
    assert detail in outcome.detail
    assert len(outcome.records) == 1  # what was tried is recorded on failure too


@pytest.mark.parametrize("mode", ["chunked", "close"])
def test_http01_body_without_length_read_to_the_limit_and_no_further(web: HttpChallengeServer, mode: str) -> None:
    web.answers[PATH] = Answer(body=b"k" * 64 * 1024, mode="stall" if mode == "close" else mode)
    outcome = validate(http01(), http_port=web.port, max_body_bytes=8192)
    # The server sent 64 KiB and then waits without closing: a reader wanting more would time out instead.
    assert (outcome.problem, outcome.detail) == (
        "unauthorized",
        f"the response from http://{NAME}:{web.port}{PATH} is larger than 8192 bytes",
    )


def test_http01_ten_megabyte_body_fails_without_being_read(web: HttpChallengeServer) -> None:
    web.answers[PATH] = Answer(body=b"x" * 1024 * 1024, repeat=10)  # Content-Length: 10485760
    outcome = validate(http01(), http_port=web.port)
    assert outcome.problem == "unauthorized" and "larger than 8192 bytes" in outcome.detail
    web.answers[PATH] = Answer(body=b"x" * 1024 * 1024, repeat=10, mode="close")  # no length given
    outcome = validate(http01(), http_port=web.port)
    assert outcome.problem == "unauthorized" and "larger than 8192 bytes" in outcome.detail


def test_http01_redirect_chain_followed_with_each_host(web: HttpChallengeServer) -> None:
    web.answers[PATH] = Answer(302, location=web.url("Other.Example.NET", "/step/2?x=1"))
    web.answers["/step/2?x=1"] = Answer(301, location="/final")  # relative: same host and port
    web.answers["/final"] = Answer(200, KEY_AUTHORIZATION.encode())
    outcome = validate(http01(), http_port=web.port)
    assert outcome.valid, outcome
    assert web.requests == [
        (PATH, f"{NAME}:{web.port}"),
        ("/step/2?x=1", f"other.example.net:{web.port}"),
        ("/final", f"other.example.net:{web.port}"),
    ]
    assert [r["url"] for r in outcome.records] == [
        f"http://{NAME}:{web.port}{PATH}",
        f"http://other.example.net:{web.port}/step/2?x=1",
        f"http://other.example.net:{web.port}/final",
    ]


def test_http01_redirect_to_https_on_the_configured_port(web: HttpChallengeServer) -> None:
    tls = TlsServer(
        alpn_certificate(dns_names("secure.example.com"), "-"), alpn=(), http_body=KEY_AUTHORIZATION.encode()
    )
    try:
        web.answers[PATH] = Answer(307, location=f"https://secure.example.com:{tls.port}/ok")
        outcome = validate(http01(), http_port=web.port, alpn_port=tls.port)
    finally:
        tls.close()
    assert outcome.valid, outcome  # the certificate is not verified: the body is the proof
    assert tls.server_names == ["secure.example.com"]


@pytest.mark.parametrize(
    ("location", "detail"),
    [
        pytest.param(
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is refused (link-local address)",
            id="fail/metadata",
        ),
        pytest.param("http://[::ffff:169.254.169.254]/", "(link-local address)", id="fail/mapped-metadata"),
        pytest.param("http://127.0.0.1/", "127.0.0.1 is refused (loopback address)", id="fail/loopback"),
        pytest.param("http://10.1.2.3/", "10.1.2.3 is refused (private address)", id="fail/private"),
        pytest.param("http://[::1]/", "::1 is refused (loopback address)", id="fail/loopback6"),
        pytest.param("http://0.0.0.0/", "(unspecified address)", id="fail/unspecified"),
        pytest.param("http://224.0.0.1/", "(multicast address)", id="fail/multicast"),
        pytest.param("http://www.example.com:8080/", "port 8080 is not followed", id="fail/port"),
        pytest.param("ftp://www.example.com/x", "only http and https", id="fail/scheme"),
        pytest.param("http://user:pw@www.example.com/", "user credentials", id="fail/userinfo"),
        pytest.param("http://www.example.com:99999/", "is not a valid URL", id="fail/bad-port"),
        pytest.param("http://bad host/", "not a host name", id="fail/bad-host"),
        pytest.param("http://www.example.com/" + "a" * 3000, "longer than", id="fail/huge"),
    ],
)
def test_http01_redirect_targets_refused(web: HttpChallengeServer, location: str, detail: str) -> None:
    web.answers[PATH] = Answer(302, location=location)
    outcome = validate(http01(), http_port=web.port)
    assert (outcome.valid, outcome.problem) == (False, "connection")
    assert detail in outcome.detail, outcome.detail
    assert len(web.requests) == 1  # nothing was fetched from the target


def test_http01_redirect_loop_and_too_many_redirects(web: HttpChallengeServer) -> None:
    web.answers[PATH] = Answer(302, location="/a")
    web.answers["/a"] = Answer(302, location="/b")
    web.answers["/b"] = Answer(302, location="/a")
    outcome = validate(http01(), http_port=web.port)
    assert outcome.problem == "connection" and "redirect loop" in outcome.detail
    assert [p for p, _ in web.requests] == [PATH, "/a", "/b"]

    for hop in range(12):
        web.answers[f"/hop/{hop}"] = Answer(302, location=f"/hop/{hop + 1}")
    web.answers[PATH] = Answer(302, location="/hop/0")
    outcome = validate(http01(), http_port=web.port, max_redirects=3)
    assert (outcome.problem, outcome.detail) == ("connection", "too many redirects (more than 3)")
    assert len(outcome.records) == 4


def test_http01_server_that_never_answers_times_out() -> None:
    silent = SilentServer()
    try:
        outcome = validate(http01(), http_port=silent.port, timeout_seconds=0.3)
    finally:
        silent.close()
    assert outcome.problem == "connection"
    assert "0.3 seconds" in outcome.detail or "timeout" in outcome.detail


def test_http01_trickling_headers_cannot_stretch_the_deadline(web: HttpChallengeServer) -> None:
    web.answers[PATH] = Answer(mode="trickle")  # a header line every 50 ms, forever
    outcome = validate(http01(), http_port=web.port, timeout_seconds=0.4)
    assert outcome.problem == "connection"
    assert "0.4 seconds" in outcome.detail or "timeout" in outcome.detail


def test_http01_nothing_listening_is_a_connection_problem() -> None:
    outcome = validate(http01(), http_port=free_port())
    assert outcome.problem == "connection" and "refused" in outcome.detail


# -- malformed checks and identifiers the validator will not reach ----------------------------------


@pytest.mark.parametrize(
    "check",
    [
        pytest.param(ChallengeCheck("http-02", "dns", NAME, TOKEN, KEY_AUTHORIZATION), id="fail/kind"),
        pytest.param(ChallengeCheck("http-01", "email", NAME, TOKEN, KEY_AUTHORIZATION), id="fail/identifier-type"),
        pytest.param(ChallengeCheck("http-01", "dns", "*.example.com", TOKEN, KEY_AUTHORIZATION), id="fail/wildcard"),
        pytest.param(
            ChallengeCheck("http-01", "dns", "a..example.com", TOKEN, KEY_AUTHORIZATION), id="fail/empty-label"
        ),
        pytest.param(ChallengeCheck("http-01", "dns", "bad_host!.com", TOKEN, KEY_AUTHORIZATION), id="fail/characters"),
        pytest.param(ChallengeCheck("http-01", "dns", "a." * 130 + "com", TOKEN, KEY_AUTHORIZATION), id="fail/long"),
        pytest.param(ChallengeCheck("http-01", "dns", "192.0.2.1", TOKEN, KEY_AUTHORIZATION), id="fail/ip-as-dns"),
        pytest.param(ChallengeCheck("http-01", "ip", "192.0.2.300", TOKEN, KEY_AUTHORIZATION), id="fail/bad-ip"),
        pytest.param(ChallengeCheck("dns-01", "ip", "192.0.2.1", TOKEN, KEY_AUTHORIZATION), id="fail/dns01-ip"),
        pytest.param(ChallengeCheck("http-01", "ip", "fe80::1%eth0", TOKEN, KEY_AUTHORIZATION), id="fail/scoped-ip"),
        pytest.param(ChallengeCheck("http-01", "dns", NAME, "../../etc", "../../etc.x"), id="fail/token-path"),
        pytest.param(ChallengeCheck("http-01", "dns", NAME, "", "."), id="fail/empty-token"),
        pytest.param(ChallengeCheck("http-01", "dns", NAME, TOKEN, "other." + TOKEN), id="fail/keyauth-token"),
        pytest.param(ChallengeCheck("http-01", "dns", NAME, TOKEN, TOKEN + ".a b"), id="fail/keyauth-chars"),
        pytest.param(ChallengeCheck("http-01", "dns", NAME, TOKEN * 10, KEY_AUTHORIZATION), id="fail/token-long"),
    ],
)
def test_malformed_checks_are_refused_before_any_connection(check: ChallengeCheck) -> None:
    outcome = validate(check)
    assert (outcome.valid, outcome.problem, outcome.records) == (False, "malformed", ())


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "::1", "0.0.0.0", "fe80::1"])
def test_without_override_special_ip_identifiers_are_rejected(address: str) -> None:
    validator = ChallengeValidator(ValidationSettings(http01_port=free_port(), timeout_seconds=2))
    try:
        outcome = validator.validate(http01(address, "ip"))
        alpn = validator.validate(alpn01(address, "ip"))
    finally:
        validator.close()
    assert (outcome.problem, alpn.problem) == ("rejectedIdentifier", "rejectedIdentifier")
    assert address in outcome.detail


# -- tls-alpn-01 -------------------------------------------------------------------------------------


def alpn_validate(server: TlsServer, check: ChallengeCheck | None = None, **settings: object) -> ValidationOutcome:
    try:
        return validate(check or alpn01(), alpn_port=server.port, **settings)
    finally:
        server.close()


def test_tlsalpn01_correct_certificate_is_valid() -> None:
    server = TlsServer(alpn_certificate(dns_names(NAME), KEY_AUTHORIZATION))
    outcome = alpn_validate(server)
    assert outcome.valid, outcome
    assert server.server_names == [NAME]  # RFC 8737 §3: SNI names the identifier
    (record,) = outcome.records
    assert (record["hostname"], record["port"], record["addressUsed"]) == (NAME, server.port, "127.0.0.1")


def test_tlsalpn01_ip_identifier_uses_the_reverse_name() -> None:
    server = TlsServer(alpn_certificate(ip_names("192.0.2.7"), KEY_AUTHORIZATION))
    outcome = alpn_validate(server, alpn01("192.0.2.7", "ip"))
    assert outcome.valid, outcome
    assert server.server_names == ["7.2.0.192.in-addr.arpa"]  # RFC 8738 §6


@pytest.mark.parametrize(
    ("credential", "problem", "detail"),
    [
        pytest.param(
            alpn_certificate(dns_names(NAME), KEY_AUTHORIZATION, extension=False),
            "incorrectResponse",
            "no acmeIdentifier extension",
            id="fail/no-extension",
        ),
        pytest.param(
            alpn_certificate(dns_names(NAME), KEY_AUTHORIZATION, critical=False),
            "incorrectResponse",
            "not critical",
            id="fail/not-critical",
        ),
        pytest.param(
            alpn_certificate(dns_names(NAME), "another key authorization"),
            "unauthorized",
            "does not hold this challenge's key authorization",
            id="fail/wrong-digest",
        ),
        pytest.param(
            alpn_certificate(dns_names(NAME), KEY_AUTHORIZATION, digest=b"\x01" * 20),
            "incorrectResponse",
            "32-byte OCTET STRING",
            id="fail/short-digest",
        ),
        pytest.param(
            alpn_certificate(dns_names(NAME, "other.example.com"), KEY_AUTHORIZATION),
            "incorrectResponse",
            "nothing else (2 names)",
            id="fail/two-sans",
        ),
        pytest.param(
            alpn_certificate(dns_names("other.example.com"), KEY_AUTHORIZATION),
            "incorrectResponse",
            f"must name {NAME}",
            id="fail/wrong-san",
        ),
        pytest.param(
            alpn_certificate(ip_names("127.0.0.1"), KEY_AUTHORIZATION),
            "incorrectResponse",
            f"must name {NAME}",
            id="fail/ip-san-for-name",
        ),
        pytest.param(
            alpn_certificate(None, KEY_AUTHORIZATION),
            "incorrectResponse",
            "no subjectAltName",
            id="fail/no-san",
        ),
    ],
)
def test_tlsalpn01_wrong_certificates_fail(credential, problem: str, detail: str) -> None:
    outcome = alpn_validate(TlsServer(credential))
    assert (outcome.valid, outcome.problem) == (False, problem)
    assert detail in outcome.detail, outcome.detail


@pytest.mark.parametrize("alpn", [(), ("h2", "http/1.1")], ids=["fail/no-alpn", "fail/other-alpn"])
def test_tlsalpn01_without_acme_tls_1_fails(alpn: tuple[str, ...]) -> None:
    outcome = alpn_validate(TlsServer(alpn_certificate(dns_names(NAME), KEY_AUTHORIZATION), alpn=alpn))
    assert outcome.problem == "tls" and "acme-tls/1" in outcome.detail


def test_tlsalpn01_server_that_never_answers_times_out() -> None:
    silent = SilentServer()
    try:
        outcome = validate(alpn01(), alpn_port=silent.port, timeout_seconds=0.3)
    finally:
        silent.close()
    assert outcome.problem == "connection"


def test_tlsalpn01_not_tls_at_all(web: HttpChallengeServer) -> None:
    outcome = validate(alpn01(), alpn_port=web.port)  # a plain HTTP server
    assert outcome.problem in ("tls", "connection") and not outcome.valid


# -- the pool --------------------------------------------------------------------------------------


def test_submit_runs_on_the_bounded_pool_and_calls_back(web: HttpChallengeServer) -> None:
    tokens = [f"token-{n:02d}-{'a' * 22}" for n in range(12)]
    for token in tokens:
        web.answers[f"/.well-known/acme-challenge/{token}"] = Answer(body=f"{token}.thumb".encode())
    validator = validator_for(web.port, concurrency=3)
    results: queue.Queue[tuple[str, ValidationOutcome]] = queue.Queue()

    def boom(outcome: ValidationOutcome) -> None:
        raise RuntimeError("the caller's bug")  # logged, not left in the pool

    try:
        validator.submit(ChallengeCheck("http-01", "dns", NAME, tokens[0], f"{tokens[0]}.thumb"), boom)
        for token in tokens:
            check = ChallengeCheck("http-01", "dns", NAME, token, f"{token}.thumb")
            validator.submit(check, lambda outcome, token=token: results.put((token, outcome)))
        validator.submit(http01(key_authorization=TOKEN + ".wrong"), lambda o: results.put(("wrong", o)))
        got = dict(results.get(timeout=30) for _ in range(len(tokens) + 1))
    finally:
        validator.close()
    assert all(got[token].valid for token in tokens)
    assert got["wrong"].problem == "unauthorized"
    with pytest.raises(Exception, match="closed"):
        validator.submit(http01(), lambda o: None)
