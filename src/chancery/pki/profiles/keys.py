"""A profile's key rules: which algorithms and sizes its certificates may certify."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from chancery.errors import BadPublicKey
from chancery.pki.profiles.model import KeyRule

_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def check_key(rules: tuple[KeyRule, ...], key: PublicKeyTypes, profile: str) -> None:
    """Raise :class:`BadPublicKey` unless one of ``rules`` admits ``key`` (no rules: any key)."""
    if not rules:
        return
    algorithm = _algorithm(key)
    candidates = [rule for rule in rules if rule.algorithm == algorithm]
    if not candidates:
        allowed = ", ".join(dict.fromkeys(rule.algorithm for rule in rules))
        raise BadPublicKey(f"profile {profile} does not allow {algorithm} keys; it allows {allowed}")
    if algorithm == "rsa":
        size = key.key_size  # type: ignore[union-attr]
        if not any(rule.min_bits <= size <= rule.max_bits for rule in candidates):
            ranges = ", ".join(f"{rule.min_bits}-{rule.max_bits}" for rule in candidates)
            raise BadPublicKey(f"profile {profile} allows RSA keys of {ranges} bits, not {size}")
    elif algorithm == "ec" and not any(key.curve.name in r.curves for r in candidates):  # type: ignore[union-attr]
        curves = sorted({_CURVE_NAMES.get(c, c) for rule in candidates for c in rule.curves})
        shown = _CURVE_NAMES.get(key.curve.name, key.curve.name)
        raise BadPublicKey(f"profile {profile} allows EC keys on {', '.join(curves)}, not {shown}")


def _algorithm(key: PublicKeyTypes) -> str:
    """The key's algorithm name, by its concrete type (cached: ABC isinstance checks are slow)."""
    kind = type(key)
    name = _BY_TYPE.get(kind)
    if name is None:
        name = _BY_TYPE[kind] = _classify(key)
    return name


_BY_TYPE: dict[type, str] = {}


def _classify(key: PublicKeyTypes) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "ed448"
    return type(key).__name__.removeprefix("_")
