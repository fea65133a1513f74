"""Which PKCS#11 mechanisms and templates make and use each key type, and reading public keys back.

Key pairs are generated in the token (PKCS#11 v2.40 §2.1.4 RSA, §2.3.7 EC; PKCS#11 3.0 §2.3.6
Edwards curves) with a private key that is a token object (CKA_TOKEN), private, sensitive,
never extractable and able to sign only: no decryption, unwrapping or derivation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pkcs11 import Attribute, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import KeyType as P11KeyType

from chancery.domain.keytypes import KeyAlgorithm, KeyType
from chancery.errors import UnsupportedMechanism

# DER of the named curves' OIDs, as CKA_EC_PARAMS holds them (RFC 5480 §2.1.1.1, RFC 8410 §3).
_P256 = bytes.fromhex("06082a8648ce3d030107")
_P384 = bytes.fromhex("06052b81040022")
_P521 = bytes.fromhex("06052b81040023")
_ED25519 = bytes.fromhex("06032b6570")
_ED25519_NAME = b"\x13\x0cedwards25519"  # PKCS#11 3.0 also allows the curve's name as a PrintableString

_CURVE_PARAMS = {KeyType.EC_P256: _P256, KeyType.EC_P384: _P384, KeyType.EC_P521: _P521}
_CURVES: dict[bytes, tuple[KeyType, ec.EllipticCurve]] = {
    _P256: (KeyType.EC_P256, ec.SECP256R1()),
    _P384: (KeyType.EC_P384, ec.SECP384R1()),
    _P521: (KeyType.EC_P521, ec.SECP521R1()),
}
SIGN_ONLY = MechanismFlag.SIGN | MechanismFlag.VERIFY
SIGN_AND_DECRYPT = SIGN_ONLY | MechanismFlag.DECRYPT | MechanismFlag.ENCRYPT  # SCEP RA keys only


@dataclass(frozen=True)
class KeySpec:
    """How to generate one kind of key pair and which mechanism signs with it."""

    name: str  # "EC P-256": how errors name it
    p11_type: P11KeyType
    generate: Mechanism
    sign: Mechanism
    bits: int | None = None
    public: tuple[tuple[Attribute, Any], ...] = ()


def spec_for(key_type: KeyType) -> KeySpec:
    if key_type.algorithm is KeyAlgorithm.RSA:
        return KeySpec(
            f"RSA {key_type.rsa_bits}",
            P11KeyType.RSA,
            Mechanism.RSA_PKCS_KEY_PAIR_GEN,
            Mechanism.RSA_PKCS,
            bits=key_type.rsa_bits,
        )
    if key_type.algorithm is KeyAlgorithm.EC:
        return KeySpec(
            f"EC {key_type.value[3:].upper()}",
            P11KeyType.EC,
            Mechanism.EC_KEY_PAIR_GEN,
            Mechanism.ECDSA,
            public=((Attribute.EC_PARAMS, _CURVE_PARAMS[key_type]),),
        )
    return KeySpec(
        "Ed25519",
        P11KeyType.EC_EDWARDS,
        Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
        Mechanism.EDDSA,
        public=((Attribute.EC_PARAMS, _ED25519),),
    )


def raw_rsa_spec(bits: int, exponent: int) -> KeySpec:
    """An EMV key: RSA of any EMV length and exponent, used with CKM_RSA_X_509 (no padding)."""
    return KeySpec(
        f"EMV RSA {bits} (CKM_RSA_X_509)",
        P11KeyType.RSA,
        Mechanism.RSA_PKCS_KEY_PAIR_GEN,
        Mechanism.RSA_X_509,
        bits=bits,
        public=((Attribute.PUBLIC_EXPONENT, exponent.to_bytes((exponent.bit_length() + 7) // 8, "big")),),
    )


def check_supported(spec: KeySpec, mechanisms: frozenset[Any], token: str) -> None:
    """:class:`UnsupportedMechanism` unless the token offers both mechanisms ``spec`` needs."""
    for mechanism in (spec.generate, spec.sign):
        if mechanism not in mechanisms:
            raise UnsupportedMechanism(f"{token} cannot make {spec.name} keys: it lacks CKM_{mechanism.name}")


def supported_key_types(mechanisms: frozenset[Any]) -> tuple[KeyType, ...]:
    return tuple(k for k in KeyType if {spec_for(k).generate, spec_for(k).sign} <= mechanisms)


def private_template(decrypts: bool = False) -> dict[Attribute, Any]:
    """Beyond python-pkcs11's defaults (CKA_PRIVATE, CKA_SENSITIVE) and the sign-only capabilities
    (``decrypts``: a SCEP RA key, which also opens envelopes)."""
    return {
        Attribute.TOKEN: True,
        Attribute.PRIVATE: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
        Attribute.SIGN: True,
        Attribute.SIGN_RECOVER: False,
        Attribute.DECRYPT: decrypts,
        Attribute.UNWRAP: False,
        Attribute.DERIVE: False,
    }


def public_template(spec: KeySpec, encrypts: bool = False) -> dict[Attribute, Any]:
    template = {Attribute.TOKEN: True, Attribute.PRIVATE: False, Attribute.VERIFY: True, **dict(spec.public)}
    if encrypts:
        template[Attribute.ENCRYPT] = True
    return template


# -- reading keys back -----------------------------------------------------------------------


def public_key_of(session: Any, private_key: Any) -> tuple[KeyType | None, PublicKeyTypes]:
    """The public key of a private key object, and its Chancery key type (``None``: not one Chancery makes)."""
    kind = private_key.key_type
    if kind == P11KeyType.RSA:
        n = int.from_bytes(private_key[Attribute.MODULUS], "big")
        e = int.from_bytes(private_key[Attribute.PUBLIC_EXPONENT], "big")
        public = rsa.RSAPublicNumbers(e, n).public_key()
        return _rsa_type(public.key_size), public
    if kind not in (P11KeyType.EC, P11KeyType.EC_EDWARDS):
        raise UnsupportedMechanism(f"keys of PKCS#11 type {kind!r} are not used by Chancery")
    public_object = session.get_key(object_class=ObjectClass.PUBLIC_KEY, id=private_key.id)
    params, point = bytes(public_object[Attribute.EC_PARAMS]), bytes(public_object[Attribute.EC_POINT])
    if kind == P11KeyType.EC_EDWARDS:
        if params not in (_ED25519, _ED25519_NAME):
            raise UnsupportedMechanism("only Ed25519 of the Edwards curves is used by Chancery")
        return KeyType.ED25519, ed25519.Ed25519PublicKey.from_public_bytes(_octets(point, 32))
    if params not in _CURVES:
        raise UnsupportedMechanism("the key is on a curve Chancery does not use (P-256, P-384, P-521)")
    key_type, curve = _CURVES[params]
    length = 1 + 2 * ((curve.key_size + 7) // 8)
    return key_type, ec.EllipticCurvePublicKey.from_encoded_point(curve, _octets(point, length))


def _rsa_type(bits: int) -> KeyType | None:
    return {2048: KeyType.RSA_2048, 3072: KeyType.RSA_3072, 4096: KeyType.RSA_4096}.get(bits)


def _octets(value: bytes, length: int) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING (PKCS#11 v2.40 §2.3.3); some tokens give the bare point."""
    if len(value) == length:
        return value
    header = 2 if length < 0x80 else 3
    if len(value) == length + header and value[0] == 0x04:
        return value[header:]
    raise UnsupportedMechanism("the token's public key point is not in a form Chancery reads")
