"""The TLS client certificate of a request, from the ASGI TLS extension.

``chancery.web.tls`` puts ``scope["extensions"]["tls"]`` on every request made over
TLS (https://asgi.readthedocs.io/en/latest/specs/tls.html), read from the handshake
that verified the certificate against ``--client-ca``; headers never play a part.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography import x509


def client_certificate(scope: Mapping[str, Any]) -> x509.Certificate | None:
    """The verified client certificate of a request made over TLS, or None."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    return x509.load_pem_x509_certificate(chain[0].encode("ascii")) if chain else None
