"""Checking CA certificate chains on import, and path length bookkeeping (RFC 5280 §6.1)."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from chancery.errors import Malformed
from chancery.pki.encoding import fingerprint_sha256


def basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def is_ca_certificate(cert: x509.Certificate) -> bool:
    """CA per RFC 5280 §4.2.1.9 and §4.2.1.3: cA=TRUE and, if keyUsage is present, keyCertSign."""
    constraints = basic_constraints(cert)
    if constraints is None or not constraints.ca:
        return False
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return usage.key_cert_sign


def is_self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def remaining_path_length(cert: x509.Certificate, parents: tuple[x509.Certificate, ...]) -> int | None:
    """How many CA levels may still follow below ``cert``; ``None`` when unconstrained.

    ``parents`` is the direct issuer first, the root last. Each ancestor's
    pathLenConstraint counts the CA certificates between it and the leaf
    (RFC 5280 §6.1.4 (l)-(m)).
    """
    limits: list[int] = []
    own = basic_constraints(cert)
    if own is not None and own.path_length is not None:
        limits.append(own.path_length)
    # Roots' constraints are honoured too: RFC 5280 §6.1 leaves the trust anchor's
    # constraints to the relying party, and OpenSSL enforces them.
    for distance, parent in enumerate(parents, start=1):
        constraints = basic_constraints(parent)
        if constraints is not None and constraints.path_length is not None:
            limits.append(constraints.path_length - distance)
    return min(limits) if limits else None


def verify_ca_chain(
    cert: x509.Certificate,
    parents: tuple[x509.Certificate, ...],
    anchors: tuple[x509.Certificate, ...],
    now: dt.datetime,
) -> tuple[x509.Certificate, ...]:
    """Check that ``cert`` chains through ``parents`` to a self-signed root.

    The root may be the last of ``parents`` or one of ``anchors`` (trust anchors
    imported earlier). Returns the complete parent chain, direct issuer first,
    root last. Raises :class:`Malformed` naming the first broken link.
    """
    if not is_ca_certificate(cert):
        raise Malformed("the certificate is not a CA certificate (basicConstraints cA and keyCertSign)")
    chain = list(parents)
    if not chain or not is_self_signed(chain[-1]):
        top = chain[-1] if chain else cert
        root = _find_issuer(top, anchors)
        if root is None:
            raise Malformed(
                "the chain does not end in a self-signed root: add the root with --chain or import it as a trust anchor"
            )
        chain.append(root)
    _check_links(cert, chain, now)
    return tuple(chain)


def _check_links(cert: x509.Certificate, chain: list[x509.Certificate], now: dt.datetime) -> None:
    child = cert
    for depth, parent in enumerate(chain, start=1):
        label = f"chain certificate {depth} ({parent.subject.rfc4514_string()[:80]})"
        if child.issuer != parent.subject:
            raise Malformed(f"{label} is not the issuer of the certificate below it (names differ)")
        try:
            child.verify_directly_issued_by(parent)
        except (InvalidSignature, ValueError, TypeError):
            raise Malformed(f"{label} did not sign the certificate below it") from None
        if not is_ca_certificate(parent):
            raise Malformed(f"{label} is not a CA certificate")
        if not parent.not_valid_before_utc <= now <= parent.not_valid_after_utc:
            raise Malformed(f"{label} is not valid now")
        constraints = basic_constraints(parent)
        # `depth` CA certificates (the imported one included) follow this parent.
        if constraints is not None and constraints.path_length is not None and constraints.path_length < depth:
            raise Malformed(f"{label} has pathLenConstraint {constraints.path_length}, too small for this chain")
        child = parent
    if len({fingerprint_sha256(c) for c in chain}) != len(chain):
        raise Malformed("the chain repeats a certificate")


def _find_issuer(cert: x509.Certificate, anchors: tuple[x509.Certificate, ...]) -> x509.Certificate | None:
    for anchor in anchors:
        if anchor.subject == cert.issuer:
            try:
                cert.verify_directly_issued_by(anchor)
            except (InvalidSignature, ValueError, TypeError):
                continue
            return anchor
    return None
