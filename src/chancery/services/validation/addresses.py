"""Where a validation connects: DNS lookups (dnspython), the addresses a name resolves to, the special-use
addresses a validation never reaches (RFC 6890), and the connection itself, all bounded by one deadline."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.resolver

from chancery.services.validation.model import Deadline, Failed
from chancery.services.validation.settings import ValidationSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Never the first address of a validation (without the test override): the CA's own host, a link-local
# neighbour (cloud metadata at 169.254.169.254) or an address nobody answers from. Private addresses are
# allowed there: an enterprise CA validates names inside its own network. Redirect targets are stricter.
REFUSED_FOR_IDENTIFIERS = frozenset({"unspecified", "loopback", "link-local", "multicast"})


@dataclass(frozen=True)
class Answer:
    """One DNS answer: its rdata, where CNAMEs led (``canonical_name``), whether the name exists."""

    rdatas: tuple[object, ...]
    canonical_name: str
    exists: bool = True


class Dns:
    """Questions to the configured resolver (or the system's), each bounded by the validation's deadline."""

    def __init__(self, resolver: tuple[str, int] | None) -> None:
        self._configured = resolver
        self._resolver: dns.resolver.Resolver | None = None

    @property
    def description(self) -> str:
        return f"{self._configured[0]}:{self._configured[1]}" if self._configured else "system"

    def query(self, name: str, rdtype: str, deadline: Deadline) -> Answer:
        """``rdtype`` records at ``name``, following CNAMEs (the resolver does). A name that does not exist
        is ``exists=False``; a resolver that cannot answer (timeout, SERVFAIL) is :class:`Failed` ("dns")."""
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException:
            raise Failed("malformed", f"{name[:80]!r} is not a DNS name") from None
        try:
            answer = self._get().resolve(
                qname, rdtype, lifetime=deadline.remaining(), search=False, raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN:
            return Answer((), name, exists=False)
        except dns.exception.Timeout:
            raise Failed("dns", f"DNS query for {rdtype} at {name} timed out") from None
        except dns.resolver.NoNameservers:
            raise Failed("dns", f"DNS query for {rdtype} at {name} failed (SERVFAIL or refused)") from None
        except (dns.exception.DNSException, OSError) as failure:
            raise Failed("dns", f"DNS query for {rdtype} at {name} failed ({type(failure).__name__})") from None
        rdatas = tuple(answer.rrset) if answer.rrset is not None else ()
        return Answer(rdatas, answer.canonical_name.to_text(omit_final_dot=True))

    def _get(self) -> dns.resolver.Resolver:
        if self._resolver is None:
            if self._configured is None:
                try:
                    resolver = dns.resolver.Resolver()  # /etc/resolv.conf
                except dns.resolver.NoResolverConfiguration:
                    raise Failed("dns", "the CA has no DNS resolver configured") from None
            else:
                resolver = dns.resolver.Resolver(configure=False)
                resolver.nameservers = [self._configured[0]]
                resolver.port = self._configured[1]
            resolver.cache = None  # each validation asks afresh
            self._resolver = resolver
        return self._resolver


def special_use(address: IPAddress) -> str | None:
    """Which kind of special-use address (RFC 6890) this is, or ``None`` for a global unicast one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", not address.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address (``[v6]`` brackets allowed), or ``None`` for a name."""
    try:
        return ipaddress.ip_address(host[1:-1] if host.startswith("[") and host.endswith("]") else host)
    except ValueError:
        return None


@dataclass(frozen=True)
class Resolved:
    hostname: str
    addresses: tuple[str, ...]  # in the order they are tried: IPv6 first, as RFC 8305 prefers


def resolve_identifier(host: str, settings: ValidationSettings, resolver: Dns, deadline: Deadline) -> Resolved:
    """The addresses to try for an order's identifier (RFC 8555 §8.3, RFC 8737 §3)."""
    resolved = _resolve(host, settings, resolver, deadline)
    if settings.host_override is None:
        for address in resolved.addresses:
            kind = special_use(ipaddress.ip_address(address))
            if kind in REFUSED_FOR_IDENTIFIERS and literal_address(host) is not None:
                raise Failed("rejectedIdentifier", f"{host} is not validated ({kind} address)")
            if kind in REFUSED_FOR_IDENTIFIERS:
                raise Failed("connection", f"{host} resolves to {address} ({kind} address), which is never reached")
    return resolved


def resolve_redirect(host: str, settings: ValidationSettings, resolver: Dns, deadline: Deadline) -> Resolved:
    """The addresses of a redirect's target: never a special-use one (a redirect is how a validation is
    aimed at the CA's own network, e.g. http://169.254.169.254/). Under the test override only DNS names
    resolve to it; a literal address is judged as it is."""
    literal = literal_address(host)
    if literal is not None:
        kind = special_use(literal)
        if kind is not None:
            raise Failed("connection", f"a redirect to {literal} is refused ({kind} address)")
    resolved = _resolve(host, settings, resolver, deadline)
    if settings.host_override is None:
        for address in resolved.addresses:
            kind = special_use(ipaddress.ip_address(address))
            if kind is not None:
                raise Failed(
                    "connection", f"a redirect to {host} is refused: it resolves to {address} ({kind} address)"
                )
    return resolved


def _resolve(host: str, settings: ValidationSettings, resolver: Dns, deadline: Deadline) -> Resolved:
    if settings.host_override is not None:
        return Resolved(host, (settings.host_override,))
    literal = literal_address(host)
    if literal is not None:
        return Resolved(host, (str(literal),))
    found: dict[str, list[str]] = {}
    for rdtype in ("AAAA", "A"):
        answer = resolver.query(host, rdtype, deadline)
        if not answer.exists:
            raise Failed("dns", f"{host} does not exist (NXDOMAIN)")
        found[rdtype] = [rdata.to_text() for rdata in answer.rdatas if hasattr(rdata, "address")]
    addresses = (*found["AAAA"], *found["A"])
    if not addresses:
        raise Failed("dns", f"no A or AAAA record found for {host}")
    return Resolved(host, addresses)


def connect(resolved: Resolved, port: int, deadline: Deadline) -> tuple[socket.socket, str, tuple[str, ...]]:
    """A TCP connection to the first address of each family that answers (IPv6, then IPv4, like Let's
    Encrypt's validation authority); returns the socket, the address used and those tried."""
    tried: list[str] = []
    families: set[bool] = set()
    problem = "no address to connect to"
    for address in resolved.addresses:
        family = ":" in address
        if family in families:
            continue
        families.add(family)
        tried.append(address)
        try:
            sock = socket.create_connection((address, port), timeout=deadline.remaining())
        except ConnectionRefusedError:
            problem = f"connection to {_at(address, port)} refused"
        except TimeoutError:
            problem = f"timeout connecting to {_at(address, port)}"
        except OSError as failure:
            problem = f"cannot connect to {_at(address, port)}: {failure.strerror or type(failure).__name__}"
        else:
            return sock, address, tuple(tried)
    raise Failed("connection", f"{resolved.hostname}: {problem}")


def _at(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
