"""How the ACME challenge validator reaches the outside: ports, resolver, limits (plain values; wiring
builds them from the ``acme_*`` settings with :func:`validation_settings`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from chancery.errors import ConfigurationError


@dataclass(frozen=True)
class ValidationSettings:
    host_override: str | None = None  # every identifier resolves to this address (tests: 127.0.0.1)
    http01_port: int = 80
    tlsalpn01_port: int = 443
    dns_resolver: tuple[str, int] | None = None  # None: the system's resolvers (/etc/resolv.conf)
    timeout_seconds: float = 10.0  # whole-validation bound
    max_redirects: int = 10
    max_body_bytes: int = 8192  # http-01 body; more is a failure, read no further
    concurrency: int = 16  # validations running at once (thread pool size)

    def __post_init__(self) -> None:
        if self.host_override is not None:
            _address(self.host_override, "the validation host")
        for name, port in (("the http-01 port", self.http01_port), ("the tls-alpn-01 port", self.tlsalpn01_port)):
            _port(port, name)
        if self.dns_resolver is not None:
            _address(self.dns_resolver[0], "the DNS resolver")
            _port(self.dns_resolver[1], "the DNS resolver's port")
        if not 0 < self.timeout_seconds <= 600:
            raise ConfigurationError("the validation timeout is between 0 and 600 seconds")
        if not 0 <= self.max_redirects <= 20:
            raise ConfigurationError("at most 20 redirects may be followed")
        if not 0 < self.max_body_bytes <= 1024 * 1024:
            raise ConfigurationError("the http-01 body limit is between 1 byte and 1 MiB")
        if not 1 <= self.concurrency <= 256:
            raise ConfigurationError("between 1 and 256 validations may run at once")

    @property
    def allowed_redirect_ports(self) -> frozenset[int]:
        """RFC 8555 §8.3 (and §10.2): redirects go to the standard ports, or the configured stand-ins."""
        return frozenset({80, 443, self.http01_port, self.tlsalpn01_port})


def parse_resolver(text: str) -> tuple[str, int]:
    """``"192.0.2.53:53"``, ``"[2001:db8::53]:5353"`` or a bare address (port 53)."""
    value = text.strip()
    host, port = value, "53"
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ConfigurationError("the DNS resolver is host:port, with an IPv6 address in brackets")
        port = rest[1:] if rest else "53"
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    if not port.isdigit():
        raise ConfigurationError("the DNS resolver's port is a number")
    resolver = (_address(host, "the DNS resolver"), int(port))
    _port(resolver[1], "the DNS resolver's port")
    return resolver


def validation_settings(
    host: str | None,
    http_port: int = 80,
    alpn_port: int = 443,
    resolver: str | tuple[str, int] | None = None,
) -> ValidationSettings:
    """What wiring calls with ``acme_validation_host``, ``acme_http01_port``, ``acme_tlsalpn01_port``
    and ``acme_dns_resolver`` (``"host:port"``)."""
    parsed = parse_resolver(resolver) if isinstance(resolver, str) else resolver
    return ValidationSettings(
        host_override=host or None, http01_port=http_port, tlsalpn01_port=alpn_port, dns_resolver=parsed
    )


def _address(text: str, what: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ConfigurationError(f"{what} must be an IP address, not {text[:60]!r}") from None


def _port(port: int, what: str) -> None:
    if not 1 <= port <= 65535:
        raise ConfigurationError(f"{what} is between 1 and 65535")
