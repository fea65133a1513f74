"""The ACME challenge validator (RFC 8555 §8): checks one challenge within a deadline, on the caller's thread
or on a bounded pool, and answers with an outcome the ACME service records; CAA (RFC 8659) alongside."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from chancery.errors import InternalError
from chancery.services.validation.addresses import Dns, literal_address
from chancery.services.validation.caa import evaluate_caa
from chancery.services.validation.dns01 import validate_dns01
from chancery.services.validation.http01 import validate_http01
from chancery.services.validation.model import (
    DNS_01,
    HTTP_01,
    KINDS,
    CaaCheck,
    ChallengeCheck,
    Deadline,
    Failed,
    ValidationOutcome,
)
from chancery.services.validation.settings import ValidationSettings
from chancery.services.validation.tlsalpn01 import validate_tlsalpn01

log = logging.getLogger(__name__)

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DNS_NAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}\.?", re.ASCII)
MAX_TOKEN = 256
MAX_NAME = 253


class ChallengeValidator:
    """Validates challenges; one instance per process (it owns the pool of validation threads)."""

    def __init__(self, settings: ValidationSettings) -> None:
        self._settings = settings
        self._dns = Dns(settings.dns_resolver)
        self._pool = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="acme-validation")
        self._closed = False

    @property
    def settings(self) -> ValidationSettings:
        return self._settings

    def validate(self, check: ChallengeCheck) -> ValidationOutcome:
        """Blocking; returns within the settings' ``timeout_seconds`` (and never raises)."""
        problem = _malformed(check)
        if problem is not None:
            return ValidationOutcome(False, "malformed", problem)
        deadline = Deadline(self._settings.timeout_seconds)
        records: list[dict[str, object]] = []
        try:
            if check.kind == HTTP_01:
                validate_http01(check, self._settings, self._dns, deadline, records)
            elif check.kind == DNS_01:
                validate_dns01(check, self._dns, deadline, records)
            else:
                validate_tlsalpn01(check, self._settings, self._dns, deadline, records)
        except Failed as failure:
            log.debug("%s for %s failed: %s", check.kind, check.identifier, failure.detail)
            return ValidationOutcome(False, failure.problem, failure.detail, tuple(records))
        except Exception:
            log.exception("%s validation of %s failed unexpectedly", check.kind, check.identifier)
            return ValidationOutcome(False, "serverInternal", "the validation could not be completed", tuple(records))
        return ValidationOutcome(True, records=tuple(records))

    def check_caa(self, request: CaaCheck) -> ValidationOutcome:
        """Blocking: may this CA issue for ``request.domain`` (RFC 8659)? Problem "caa" when it may not."""
        try:
            return evaluate_caa(request, self._dns, Deadline(self._settings.timeout_seconds))
        except Failed as failure:
            return ValidationOutcome(False, failure.problem, f"CAA lookup failed: {failure.detail}")
        except Exception:
            log.exception("the CAA check of %s failed unexpectedly", request.domain)
            return ValidationOutcome(False, "serverInternal", "the CAA check could not be completed")

    def submit(self, check: ChallengeCheck, done: Callable[[ValidationOutcome], None]) -> None:
        """Validate on the pool (at most ``concurrency`` at once, the rest queued); ``done(outcome)`` is
        called on the pool's thread. Whatever ``done`` raises is logged, never left in the pool."""
        if self._closed:
            raise InternalError("the challenge validator is closed")

        def run() -> None:
            outcome = self.validate(check)
            try:
                done(outcome)
            except Exception:
                log.exception("recording the %s outcome for %s failed", check.kind, check.identifier)

        self._pool.submit(run)

    def close(self, cancel_pending: bool = False) -> None:
        """Stop taking work; waits for validations running (each ends by its deadline) and, unless
        ``cancel_pending``, those queued (a cancelled one never calls its ``done``)."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=cancel_pending)


def _malformed(check: ChallengeCheck) -> str | None:
    """Why a check cannot be attempted, or ``None``."""
    if check.kind not in KINDS:
        return f"unknown challenge type {check.kind[:40]!r}"
    if check.identifier_type == "ip":
        if literal_address(check.identifier) is None or check.identifier.startswith("[") or "%" in check.identifier:
            return f"{check.identifier[:60]!r} is not an IP address"
        if check.kind == DNS_01:
            return "dns-01 cannot validate an ip identifier (RFC 8738 §7); use http-01 or tls-alpn-01"
    elif check.identifier_type == "dns":
        name = check.identifier
        if len(name) > MAX_NAME or not _DNS_NAME.fullmatch(name) or literal_address(name) is not None:
            return f"{name[:60]!r} is not a DNS name (a wildcard's '*.' is removed before validation)"
    else:
        return f"unknown identifier type {check.identifier_type[:20]!r}"
    # RFC 8555 §8.1 and §8.3: the token is base64url; the key authorization is token "." thumbprint.
    if not (0 < len(check.token) <= MAX_TOKEN and _BASE64URL.fullmatch(check.token)):
        return "the challenge token is not base64url"
    prefix, dot, thumbprint = check.key_authorization.partition(".")
    if prefix != check.token or not dot or not _BASE64URL.fullmatch(thumbprint) or len(thumbprint) > MAX_TOKEN:
        return "the key authorization is not the token and a base64url thumbprint"
    return None
