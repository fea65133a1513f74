"""ACME challenge validation (RFC 8555 §8: http-01 and dns-01; RFC 8737: tls-alpn-01; RFC 8738: ip
identifiers) and CAA checking (RFC 8659, RFC 8657). The ACME service builds one
:class:`ChallengeValidator` from :class:`ValidationSettings` (wiring: :func:`validation_settings`)."""

from chancery.services.validation.caa import CaaRecord, caa_decision, parse_issue_value
from chancery.services.validation.model import (
    DNS_01,
    HTTP_01,
    TLS_ALPN_01,
    CaaCheck,
    ChallengeCheck,
    ValidationOutcome,
)
from chancery.services.validation.settings import ValidationSettings, parse_resolver, validation_settings
from chancery.services.validation.validator import ChallengeValidator

__all__ = [
    "DNS_01",
    "HTTP_01",
    "TLS_ALPN_01",
    "CaaCheck",
    "CaaRecord",
    "ChallengeCheck",
    "ChallengeValidator",
    "ValidationOutcome",
    "ValidationSettings",
    "caa_decision",
    "parse_issue_value",
    "parse_resolver",
    "validation_settings",
]
