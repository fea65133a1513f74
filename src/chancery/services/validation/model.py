"""What the ACME service asks the validator, and what it answers (RFC 8555 §8)."""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass

HTTP_01 = "http-01"
DNS_01 = "dns-01"
TLS_ALPN_01 = "tls-alpn-01"
KINDS = (HTTP_01, DNS_01, TLS_ALPN_01)


@dataclass(frozen=True)
class ChallengeCheck:
    kind: str  # "http-01" | "dns-01" | "tls-alpn-01"
    identifier_type: str  # "dns" | "ip"  (RFC 8738 ip identifiers: http-01 and tls-alpn-01 only)
    identifier: str  # "www.example.com" (never with "*."; the caller strips a wildcard) or "192.0.2.1"
    token: str
    key_authorization: str  # token + "." + base64url(JWK thumbprint)


@dataclass(frozen=True)
class ValidationOutcome:
    valid: bool
    problem: str | None = None  # ACME problem short name (RFC 8555 §6.7): "connection", "unauthorized", ...
    detail: str = ""  # safe to show the client
    records: tuple[dict[str, object], ...] = ()  # validation records (url, hostname, port, addresses...)


@dataclass(frozen=True)
class CaaCheck:
    domain: str  # without "*."
    wildcard: bool
    identities: tuple[str, ...]  # the CA's issuer-domain-names; empty: CAA not checked
    account_uri: str
    method: str  # the validation method used ("http-01", ...)


class Failed(Exception):
    """A validation step failed: ``problem`` and ``detail`` become the outcome."""

    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail


class Deadline:
    """The one bound on a whole validation: every blocking step waits at most :meth:`remaining`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; :class:`Failed` ("connection") once there are none."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise Failed("connection", f"the validation did not finish within {self.seconds:g} seconds")
        return left


def sha256_b64url(key_authorization: str) -> str:
    """RFC 8555 §8.4: base64url (no padding) of SHA-256 of the key authorization."""
    digest = hashlib.sha256(key_authorization.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def printable(data: bytes | str, limit: int = 64) -> str:
    """A short, printable rendering of something a peer sent (for a detail the client sees)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    shown = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return shown + ("..." if len(text) > limit else "")
