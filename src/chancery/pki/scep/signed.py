"""Reading CMS SignedData (RFC 5652 §5) as SCEP sends it: the verifying reader shared by
pkiMessage and CertRep parsing.

asn1crypto parses lazily and accepts most BER; every access to attacker-supplied structure
happens inside :func:`~chancery.pki.scep.messages.guard`, which turns any parsing error into
a ``badRequest``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from chancery.pki.scep.algorithms import DIGESTS, HASHES, SIGNATURES
from chancery.pki.scep.ber import definite
from chancery.pki.scep.messages import FailInfo, ScepError, guard


@dataclass(frozen=True)
class Verified:
    """A SignedData whose one signature verified: its signed attributes by name."""

    attributes: dict[str, Any]
    signer_certificate: x509.Certificate
    digest: str
    content: bytes | None


def verify(body: bytes, max_bytes: int, require_content: bool = False) -> Verified:
    """Parse a ContentInfo(SignedData) with exactly one SignerInfo and verify it (RFC 5652 §5.6)."""
    if not body:
        raise ScepError(FailInfo.BAD_REQUEST, "empty message")
    if len(body) > max_bytes:
        raise ScepError(FailInfo.BAD_REQUEST, f"message larger than {max_bytes} bytes")
    with guard("the message is not a CMS SignedData"):
        info = cms.ContentInfo.load(definite(body), strict=True)
        if info["content_type"].dotted != "1.2.840.113549.1.7.2":
            raise ValueError("not signed data")
        signed = info["content"]
        signer_infos = signed["signer_infos"]
        count = len(signer_infos)
    if count != 1:
        raise ScepError(FailInfo.BAD_REQUEST, f"expected one signer, found {count}")
    with guard("the SignerInfo is malformed"):
        signer_info = signer_infos[0]
        digest_oid = signer_info["digest_algorithm"]["algorithm"].dotted
        content = _content(signed["encap_content_info"])
        attributes = _attributes(signer_info["signed_attrs"])
    if require_content and not content:
        raise ScepError(FailInfo.BAD_REQUEST, "the pkiMessage carries no envelope")
    digest = DIGESTS.get(digest_oid)
    if digest is None:
        raise ScepError(FailInfo.BAD_ALG, f"digest algorithm {digest_oid} is not accepted")
    certificate = _signer_certificate(signed, signer_info)
    # RFC 5652 §5.6: the messageDigest attribute must equal the digest of the eContent octets.
    message_digest = attributes.get("message_digest")
    if not isinstance(message_digest, bytes):
        raise ScepError(FailInfo.BAD_REQUEST, "the messageDigest attribute is missing")
    if attributes.get("content_type") != "data":
        raise ScepError(FailInfo.BAD_REQUEST, "the contentType attribute is missing or not id-data")
    if not hmac.compare_digest(message_digest, hashlib.new(digest, content or b"").digest()):
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "messageDigest does not match the content")
    _check_signature(signer_info, certificate, digest)
    return Verified(attributes, certificate, digest, content)


def _content(encap: cms.EncapsulatedContentInfo) -> bytes | None:
    if encap["content_type"].dotted != "1.2.840.113549.1.7.1":
        raise ValueError("SCEP content is id-data")  # RFC 8894 §3.2
    value = encap["content"]
    if isinstance(value, core.Void):
        return None
    return bytes(value.__bytes__())


def _attributes(signed_attrs: cms.CMSAttributes) -> dict[str, Any]:
    if isinstance(signed_attrs, core.Void):
        raise ValueError("no signed attributes")
    found: dict[str, Any] = {}
    for attribute in signed_attrs:
        name = attribute["type"].native
        values = attribute["values"]
        if name in found or len(values) != 1:
            raise ValueError(f"attribute {name} repeated or not single-valued")  # RFC 5652 §5.3
        value = values[0]
        found[name] = value.chosen.native if isinstance(value, core.Choice) else value.native
    return found


def _signer_certificate(signed: cms.SignedData, signer_info: cms.SignerInfo) -> x509.Certificate:
    with guard("the signer's certificate is malformed"):
        sid = signer_info["sid"]
        for choice in signed["certificates"] if not isinstance(signed["certificates"], core.Void) else ():
            if choice.name != "certificate":
                continue
            cert = choice.chosen
            if _is_signer(sid, cert):
                return x509.load_der_x509_certificate(cert.dump())
    raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "the signer's certificate is not in the message")


def _is_signer(sid: cms.SignerIdentifier, cert: asn1_x509.Certificate) -> bool:
    if sid.name == "subject_key_identifier":
        return cert.key_identifier == sid.chosen.native
    wanted = sid.chosen
    if cert.serial_number != wanted["serial_number"].native:
        return False
    issuer = cert["tbs_certificate"]["issuer"]
    return issuer.dump() == wanted["issuer"].dump() or issuer == wanted["issuer"]  # RFC 5280 §7.1


def _signed_bytes(signer_info: cms.SignerInfo) -> Iterator[bytes]:
    """The SET OF attributes as the signer encoded it, then its DER re-encoding if different
    (computed only when the first does not verify)."""
    attrs = signer_info["signed_attrs"]
    received = b"\x31" + attrs.dump()[1:]  # [0] IMPLICIT -> universal SET, RFC 5652 §5.4
    yield received
    with guard("the signed attributes are malformed"):
        reencoded = attrs.untag().dump(force=True)
    if reencoded != received:
        yield reencoded


def _check_signature(signer_info: cms.SignerInfo, certificate: x509.Certificate, digest: str) -> None:
    with guard("the signature is malformed"):
        algorithm = signer_info["signature_algorithm"]
        oid = algorithm["algorithm"].dotted
        signature = signer_info["signature"].native
        scheme = SIGNATURES.get(oid)
        if scheme is None:
            raise ScepError(FailInfo.BAD_ALG, f"signature algorithm {oid} is not accepted")
        kind, hash_name = scheme[0], scheme[1] or digest
        pss = _pss_padding(algorithm["parameters"]) if kind == "pss" else None
        public_key = certificate.public_key()
    hash_algorithm = HASHES[pss[1] if pss else hash_name]()
    if not (kind in ("rsa", "pss") and isinstance(public_key, rsa.RSAPublicKey)) and not (
        kind == "ecdsa" and isinstance(public_key, ec.EllipticCurvePublicKey)
    ):
        raise ScepError(FailInfo.BAD_ALG, "the signature algorithm does not fit the signer's key")
    for data in _signed_bytes(signer_info):
        try:
            if isinstance(public_key, rsa.RSAPublicKey):
                public_key.verify(signature, data, pss[0] if pss else padding.PKCS1v15(), hash_algorithm)
            else:
                public_key.verify(signature, data, ec.ECDSA(hash_algorithm))
            return
        except (InvalidSignature, UnsupportedAlgorithm, ValueError):
            continue
    raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "the signature does not verify")


def _pss_padding(params: algos.RSASSAPSSParams) -> tuple[padding.PSS, str]:
    """RFC 4055 §3.1: the hash, MGF1 hash and salt length of RSASSA-PSS."""
    hash_name = params["hash_algorithm"]["algorithm"].native
    mgf = params["mask_gen_algorithm"]
    mgf_hash = mgf["parameters"]["algorithm"].native
    if (
        mgf["algorithm"].native != "mgf1"
        or hash_name not in HASHES
        or mgf_hash not in HASHES
        or "md5"
        in (
            hash_name,
            mgf_hash,
        )
    ):
        raise ScepError(FailInfo.BAD_ALG, "RSASSA-PSS parameters are not accepted")
    salt = params["salt_length"].native
    return padding.PSS(padding.MGF1(HASHES[mgf_hash]()), salt), hash_name
