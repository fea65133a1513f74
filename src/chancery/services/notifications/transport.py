"""What the two senders (webhooks over HTTP, mail over SMTP) share: how an attempt went, and TLS."""

from __future__ import annotations

import ssl
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """How an attempt went: ``status`` is the HTTP status (or SMTP reply code) when there was one;
    ``retry`` False means trying again cannot help."""

    ok: bool
    status: int | None = None
    error: str = ""
    retry: bool = True


def tls_context(ca_certificates_pem: str | None) -> ssl.SSLContext:
    """Verify the server against the system's trust store, or against the given CAs only;
    the host name is checked either way (RFC 6125)."""
    if ca_certificates_pem:
        return ssl.create_default_context(cadata=ca_certificates_pem)
    return ssl.create_default_context()
