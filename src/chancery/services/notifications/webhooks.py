"""Webhooks: the JSON body of a request change, its signature, and the POST that delivers it.

Each delivery is ``POST <url>`` with a JSON body (``Content-Type: application/json``)::

    {"id": "<event id>", "event": "issued", "occurred_at": "2026-12-05T10:00:00Z",
     "request": {"id": "7K2M-9QXR-3VTD-H8PA", "ra": "web", "ca": "issuing", "profile": "tls-server",
                 "kind": "csr", "status": "issued", "subject": "CN=www.example.com",
                 "sans": ["DNS:www.example.com"], "requester": "rita",
                 "approvals": [{"name": "olga", "at": "2026-12-05T09:58:00Z"}], "serial": "5f0c..."}}

``id`` names the change (the same for every subscription); the header ``Chancery-Delivery``
names this delivery (the same on every retry): a receiver that has seen it can ignore it.
``Chancery-Event`` repeats the event. The CSR, keys and pickup tokens are never sent.

The header ``Chancery-Signature: t=<unix time>,v1=<hex>`` carries
``HMAC-SHA256(key=<the subscription's secret, as shown: its base64url text in ASCII>,
message=f"{t}." + <the raw body bytes>)`` (RFC 2104). To verify, a receiver:

1. splits the header at ``,`` into ``t`` and ``v1``;
2. rejects the delivery when ``t`` is more than five minutes from its own clock (a replayed
   old delivery then fails even with a valid MAC);
3. computes the HMAC over ``f"{t}."`` followed by the body *exactly as received* (before any
   JSON parsing) and compares it with ``v1`` in constant time (``hmac.compare_digest``).

:func:`verify` does exactly this. Each attempt is signed afresh with the time it is sent.

Deliveries go straight to the URL (no proxy), give up after 5 seconds without progress (to
connect, send or hear the answer) or 5 seconds of reading it, follow no redirects and read at
most 64 KiB of the answer; any 2xx status is success. https URLs are verified against the
system's trust store, or against the subscription's own CA certificates when it has some.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from chancery.services.notifications.transport import Outcome, tls_context
from chancery.services.registration.changes import RequestChange

TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 64 * 1024
SIGNATURE_TOLERANCE_SECONDS = 300
MAX_URL = 2000
USER_AGENT = "Chancery-Webhooks/1"


@dataclass(frozen=True)
class WebhookPost:
    url: str
    body: bytes
    headers: dict[str, str]
    ca_certificates_pem: str | None = field(default=None, repr=False)


def new_secret() -> str:
    """32 bytes from the CSPRNG as unpadded base64url (RFC 4648 §5): shown once, then sealed."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot receive webhooks, or ``None`` when it can (http or https, a host,
    no credentials, no whitespace)."""
    if not url or len(url) > MAX_URL:
        return f"a webhook URL has 1 to {MAX_URL} characters"
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "a webhook URL may not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "not a URL"
    if parts.scheme.lower() not in ("http", "https"):
        return f"webhooks are sent over http or https, not {parts.scheme or 'no scheme'!r}"
    if not parts.hostname:
        return "the webhook URL has no host"
    if parts.username is not None or parts.password is not None:
        return "put no credentials in the webhook URL: receivers check the signature instead"
    return None


def request_body(event_id: str, change: RequestChange) -> str:
    """The JSON document a subscriber receives for ``change`` (never the CSR, keys or pickup tokens)."""
    request = change.request
    document = {
        "id": event_id,
        "event": change.event,
        "occurred_at": _iso(change.at),
        "request": {
            "id": request.request_id,
            "ra": request.ra,
            "ca": request.ca,
            "profile": request.profile,
            "kind": request.kind.value,
            "status": request.state.value,
            "subject": request.subject,
            "sans": list(request.sans),
            "requester": request.requester,
            "approvals": [{"name": a.approver, "at": _iso(a.approved_at)} for a in request.approvals],
            "serial": request.serial,
        },
    }
    return json.dumps(document, separators=(",", ":"))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Chancery-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("ascii"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """Whether ``header`` is a valid ``Chancery-Signature`` for ``body``, made within ``tolerance``
    seconds of ``now`` (what a receiver runs; see the module docstring)."""
    fields: dict[str, str] = {}
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or name in fields:
            return False
        fields[name] = value
    timestamp, given = fields.get("t", ""), fields.get("v1", "")
    if not timestamp.isdigit() or len(timestamp) > 12 or abs(now - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, int(timestamp), body).partition(",v1=")[2]
    return hmac.compare_digest(expected, given)


def headers_for(secret: str, event: str, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Chancery-Event": event,
        "Chancery-Delivery": delivery_id,
        "Chancery-Signature": sign(secret, timestamp, body),
    }


class WebhookSender:
    """POSTs one webhook with httpx, synchronously (the dispatcher's thread)."""

    def post(self, post: WebhookPost) -> Outcome:
        import httpx  # only the delivering thread pays for the import

        deadline = time.monotonic() + TIMEOUT_SECONDS
        try:
            with httpx.Client(
                verify=tls_context(post.ca_certificates_pem),
                timeout=TIMEOUT_SECONDS,
                follow_redirects=False,
                trust_env=False,
            ) as client:
                with client.stream("POST", post.url, content=post.body, headers=post.headers) as response:
                    answer = _read_at_most(response.iter_bytes(), deadline)
                    status = response.status_code
        except httpx.TimeoutException:
            return Outcome(False, None, f"no answer within {TIMEOUT_SECONDS:g} s")
        except _TooSlow:
            return Outcome(False, None, f"the answer took longer than {TIMEOUT_SECONDS:g} s")
        except httpx.HTTPError as failure:
            return Outcome(False, None, _describe(failure))
        if 200 <= status < 300:
            return Outcome(True, status)
        note = " (redirects are not followed)" if 300 <= status < 400 else ""
        said = _printable(answer)
        return Outcome(False, status, f"HTTP {status}{note}" + (f": {said}" if said else ""))


class _TooSlow(Exception):
    pass


def _read_at_most(chunks: Iterator[bytes], deadline: float) -> bytes:
    """At most :data:`MAX_RESPONSE_BYTES` of the answer, given up on at ``deadline``."""
    received = bytearray()
    for chunk in chunks:
        received += chunk
        if len(received) >= MAX_RESPONSE_BYTES:
            break
        if time.monotonic() > deadline:
            raise _TooSlow
    return bytes(received[:MAX_RESPONSE_BYTES])


def _describe(failure: Exception) -> str:
    kind = type(failure).__name__
    text = str(failure) or kind
    return f"{kind}: {text}"[:300]


def _printable(answer: bytes) -> str:
    text = answer[:200].decode("utf-8", "replace")
    return "".join(c if c.isprintable() else " " for c in text).strip()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
