"""Webhook signatures as a receiver checks them (``Chancery-Signature: t=..,v1=..``), the secret's
form, which URLs may receive webhooks, and what the JSON body holds."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest

from chancery.domain.registration import (
    RaRecord,
    RequestApproval,
    RequestKind,
    RequestRecord,
    RequestState,
)
from chancery.services.notifications.webhooks import new_secret, request_body, sign, url_problem, verify
from chancery.services.registration.changes import RequestChange

SECRET = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG8"
BODY = b'{"id":"e1","event":"issued"}'
T = 1_767_000_000
AT = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.timezone.utc)


def test_the_signature_is_hmac_sha256_of_time_dot_body_under_the_secret_text() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, T, BODY) == f"t={T},v1={expected}"


@pytest.mark.parametrize(
    ("header", "body", "now", "ok"),
    [
        pytest.param(sign(SECRET, T, BODY), BODY, T, True, id="ok/just-sent"),
        pytest.param(sign(SECRET, T, BODY), BODY, T + 300, True, id="ok/five-minutes-old"),
        pytest.param(sign(SECRET, T, BODY), BODY, T - 300, True, id="ok/clocks-five-minutes-apart"),
        pytest.param(" " + sign(SECRET, T, BODY).replace(",", ", "), BODY, T, True, id="ok/spaces-after-commas"),
        pytest.param(sign(SECRET, T, BODY), BODY, T + 301, False, id="fail/replayed-later"),
        pytest.param(sign(SECRET, T, BODY), BODY, T - 301, False, id="fail/from-the-future"),
        pytest.param(sign(SECRET, T, BODY), BODY + b" ", T, False, id="fail/body-changed"),
        pytest.param(sign(SECRET + "x", T, BODY), BODY, T, False, id="fail/other-secret"),
        pytest.param(sign(SECRET, T, BODY).replace(f"t={T}", f"t={T + 1}"), BODY, T, False, id="fail/time-changed"),
        pytest.param(f"t={T}", BODY, T, False, id="fail/no-v1"),
        pytest.param(sign(SECRET, T, BODY).split(",")[1], BODY, T, False, id="fail/no-t"),
        pytest.param(f"t={T},t={T}," + sign(SECRET, T, BODY).split(",")[1], BODY, T, False, id="fail/two-t"),
        pytest.param("t=-5,v1=00", BODY, T, False, id="fail/negative-time"),
        pytest.param("garbage", BODY, T, False, id="fail/garbage"),
        pytest.param("", BODY, T, False, id="fail/empty"),
    ],
)
def test_a_receiver_verifies_fresh_signatures_only(header: str, body: bytes, now: int, ok: bool) -> None:
    assert verify(SECRET, header, body, now) is ok


def test_secrets_are_32_random_bytes_in_unpadded_base64url() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert len(secret) == 43 and "=" not in secret
        assert len(base64.urlsafe_b64decode(secret + "=")) == 32


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        pytest.param("https://hooks.example.com/chancery", True, id="ok/https"),
        pytest.param("http://10.1.2.3:8080/in?team=pki", True, id="ok/http-port-query"),
        pytest.param("HTTPS://hooks.example.com", True, id="ok/upper-case-scheme"),
        pytest.param("https://[2001:db8::1]:8443/in", True, id="ok/ipv6"),
        pytest.param("ftp://hooks.example.com/in", False, id="fail/ftp"),
        pytest.param("file:///etc/passwd", False, id="fail/file"),
        pytest.param("gopher://hooks.example.com", False, id="fail/gopher"),
        pytest.param("javascript:alert(1)", False, id="fail/javascript"),
        pytest.param("//hooks.example.com/in", False, id="fail/no-scheme"),
        pytest.param("https://", False, id="fail/no-host"),
        pytest.param("https://hooks.example.com:99999/", False, id="fail/bad-port"),
        pytest.param("https://alice:pw@hooks.example.com/", False, id="fail/credentials"),
        pytest.param("https://hooks.example.com/a b", False, id="fail/space"),
        pytest.param("https://hooks.example.com/\r\nX: 1", False, id="fail/crlf"),
        pytest.param("https://hooks.example.com/" + "a" * 2000, False, id="fail/too-long"),
        pytest.param("", False, id="fail/empty"),
    ],
)
def test_webhooks_go_to_http_and_https_urls_only(url: str, allowed: bool) -> None:
    assert (url_problem(url) is None) is allowed


def test_the_body_describes_the_request_and_never_its_csr_key_or_pickup_secret() -> None:
    request = RequestRecord(
        request_id="7K2M-9QXR-3VTD-H8PA",
        ra="web",
        ca="issuing",
        profile="tls-server",
        kind=RequestKind.KEYGEN,
        state=RequestState.ISSUED,
        requester="rita",
        submitted_at=AT,
        expires_at=AT + dt.timedelta(days=7),
        approvals_required=1,
        subject="CN=www.example.com",
        sans=("DNS:www.example.com",),
        csr=b"\x30\x82CSR-BYTES",
        key_type="ec-p256",
        contact_email="rita@example.com",
        approvals=(RequestApproval("olga", AT - dt.timedelta(minutes=2), "fine"),),
        serial="5f0c",
        pickup_hash="ab" * 32,
        key_id="key-123",
    )
    ra = RaRecord("web", "issuing", (), AT, "admin")
    body = request_body("e1", RequestChange(request, ra, "issued", "ra:web", AT))

    assert json.loads(body) == {
        "id": "e1",
        "event": "issued",
        "occurred_at": "2026-12-05T10:00:00Z",
        "request": {
            "id": "7K2M-9QXR-3VTD-H8PA",
            "ra": "web",
            "ca": "issuing",
            "profile": "tls-server",
            "kind": "keygen",
            "status": "issued",
            "subject": "CN=www.example.com",
            "sans": ["DNS:www.example.com"],
            "requester": "rita",
            "approvals": [{"name": "olga", "at": "2026-12-05T09:58:00Z"}],
            "serial": "5f0c",
        },
    }
    for secret in ("CSR-BYTES", "ab" * 32, "key-123", "rita@example.com", "fine"):
        assert secret not in body
