"""CMS EnvelopedData (RFC 5652 §6) as SCEP uses it (RFC 8894 §3.2.2): RSA key transport
to one certificate, content encrypted with AES-CBC (or, where allowed, 3DES/DES-CBC)."""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from asn1crypto import algos, cms, parser
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes

from chancery.pki import der
from chancery.pki.scep.algorithms import HASHES
from chancery.pki.scep.ber import definite
from chancery.pki.scep.cms import Envelope, enveloped
from chancery.pki.scep.messages import PARSE_ERRORS, FailInfo, ScepError, guard

_ENVELOPED = "1.2.840.113549.1.7.3"
_DATA = "1.2.840.113549.1.7.1"
_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
_RSAES_OAEP = "1.2.840.113549.1.1.7"
_WRONG_KEY = "the envelope does not open with the RA key"  # one message for every decryption failure


@dataclass(frozen=True)
class CipherPolicy:
    """Which legacy content ciphers an RA still accepts (AES is always accepted)."""

    allow_3des: bool = True
    allow_des: bool = False


@dataclass(frozen=True)
class _Cipher:
    oid: str
    key_size: int
    block_size: int


# RFC 3565 §4.1 (AES-CBC), RFC 3370 §5.1 (DES-EDE3-CBC), RFC 8018 §B.2.1 (DES-CBC).
CIPHERS: dict[str, _Cipher] = {
    "aes128": _Cipher("2.16.840.1.101.3.4.1.2", 16, 16),
    "aes192": _Cipher("2.16.840.1.101.3.4.1.22", 24, 16),
    "aes256": _Cipher("2.16.840.1.101.3.4.1.42", 32, 16),
    "3des": _Cipher("1.2.840.113549.3.7", 24, 8),
    "des": _Cipher("1.3.14.3.2.7", 8, 8),
}
_BY_OID = {c.oid: name for name, c in CIPHERS.items()}

DecryptKey = Callable[[bytes], bytes]
DecryptOaep = Callable[[bytes, hashes.HashAlgorithm], bytes]


def _algorithm(name: str, key: bytes) -> BlockCipherAlgorithm:
    if name == "des":
        return TripleDES(key * 3)  # EDE with K1 = K2 = K3 is single DES
    if name == "3des":
        return TripleDES(key)
    return algorithms.AES(key)


def open_envelope(
    enveloped: bytes,
    recipient: x509.Certificate,
    decrypt_key: DecryptKey,
    policy: CipherPolicy,
    decrypt_oaep: DecryptOaep | None = None,
) -> bytes:
    """The decrypted content of ``enveloped`` (a ContentInfo or a bare EnvelopedData).

    ``decrypt_key`` undoes RSA PKCS#1 v1.5 key transport with the recipient's key;
    ``decrypt_oaep`` (optional) undoes RSAES-OAEP. A wrong key, bad padding or a plaintext that
    is not one DER/BER element all give the same badMessageCheck.
    """
    with guard("the envelope is not a CMS EnvelopedData"):
        data = _enveloped_data(enveloped)
        ktri = _recipient_info(data["recipient_infos"], recipient)
        encrypted = data["encrypted_content_info"]
        if encrypted["content_type"].dotted != _DATA:
            raise ValueError("SCEP envelopes id-data")  # RFC 8894 §3.2.2
        algorithm = encrypted["content_encryption_algorithm"]
        cipher_oid = algorithm["algorithm"].dotted
        cipher_name = _BY_OID.get(cipher_oid)
    cipher = _allowed(cipher_name, cipher_oid, policy)
    with guard("the envelope is not a CMS EnvelopedData"):
        iv = algorithm["parameters"].native
        ciphertext = _encrypted_content(encrypted)
        key_algorithm = ktri["key_encryption_algorithm"]
        encrypted_key = ktri["encrypted_key"].native
    if not isinstance(iv, bytes) or len(iv) != cipher.block_size:
        raise ScepError(FailInfo.BAD_REQUEST, "the content-encryption IV has the wrong length")
    if not isinstance(ciphertext, bytes) or not ciphertext or len(ciphertext) % cipher.block_size:
        raise ScepError(FailInfo.BAD_REQUEST, "the encrypted content is missing or not whole blocks")
    key = _content_key(key_algorithm, encrypted_key, decrypt_key, decrypt_oaep)
    if len(key) != cipher.key_size:
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, _WRONG_KEY)
    assert cipher_name is not None
    decryptor = Cipher(_algorithm(cipher_name, key), modes.CBC(iv)).decryptor()
    plain = _unpad(decryptor.update(ciphertext) + decryptor.finalize(), cipher.block_size)
    if plain is None or not _one_sequence(plain):
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, _WRONG_KEY)
    return plain


def _encrypted_content(encrypted: cms.EncryptedContentInfo) -> bytes | None:
    """encryptedContent ([0] IMPLICIT OCTET STRING, RFC 5652 §6.1), primitive or constructed.

    Go's pkcs7 (micromdm's scepclient) sends it constructed with a definite length: one or more
    OCTET STRING chunks inside [0] (X.690 §8.7.3.2), which asn1crypto refuses; the chunks are
    joined here.
    """
    for class_, constructed, tag, body in _elements(encrypted.contents):
        if class_ != 2 or tag != 0:
            continue
        if not constructed:
            return body
        chunks = []
        for c_class, c_constructed, c_tag, chunk in _elements(body):
            if c_class != 0 or c_constructed or c_tag != 4:
                raise ValueError("encryptedContent chunks are OCTET STRINGs")
            chunks.append(chunk)
        return b"".join(chunks)
    return None


def _elements(contents: bytes) -> list[tuple[int, int, int, bytes]]:
    """(class, constructed, tag, content octets) of each element in ``contents``."""
    found, pointer = [], 0
    while pointer < len(contents):
        length = parser.peek(contents[pointer:])
        class_, constructed, tag, _, body, _ = parser.parse(contents[pointer : pointer + length])
        found.append((class_, constructed, tag, body))
        pointer += length
    return found


def envelope_cipher(enveloped: bytes) -> str | None:
    """The content cipher a client chose ("aes128", "aes256", "3des", ...), to answer in kind
    (RFC 8894 §3.5.2); None when the envelope is unreadable or the cipher unknown."""
    try:
        data = _enveloped_data(enveloped)
        oid = data["encrypted_content_info"]["content_encryption_algorithm"]["algorithm"].dotted
    except PARSE_ERRORS:
        return None
    return _BY_OID.get(oid)


def _enveloped_data(enveloped: bytes) -> cms.EnvelopedData:
    """Accept ContentInfo(EnvelopedData) (what RFC 8894 §3.2.2 sends) or a bare EnvelopedData."""
    enveloped = definite(enveloped)
    _, _, _, _, contents, _ = parser.parse(enveloped, strict=True)
    first_tag = parser.parse(contents)[2] if contents else None
    if first_tag == 6:  # OBJECT IDENTIFIER: a ContentInfo
        info = cms.ContentInfo.load(enveloped, strict=True)
        if info["content_type"].dotted != _ENVELOPED:
            raise ValueError("not enveloped data")
        return info["content"]
    return cms.EnvelopedData.load(enveloped, strict=True)


def _recipient_info(infos: cms.RecipientInfos, recipient: x509.Certificate) -> cms.KeyTransRecipientInfo:
    """RFC 5652 §6.2.1: the KeyTransRecipientInfo whose rid names ``recipient``."""
    issuer_der = recipient.issuer.public_bytes()
    issuer = None
    try:
        ski = recipient.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        ski = None
    for info in infos:
        if info.name != "ktri":
            continue
        ktri = info.chosen
        rid = ktri["rid"]
        if rid.name == "subject_key_identifier":
            if ski is not None and rid.chosen.native == ski:
                return ktri
            continue
        wanted = rid.chosen
        if wanted["serial_number"].native != recipient.serial_number:
            continue
        if wanted["issuer"].dump() == issuer_der:
            return ktri
        issuer = issuer or asn1_x509.Name.load(issuer_der)
        if wanted["issuer"] == issuer:  # RFC 5280 §7.1 name comparison
            return ktri
    raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "the request is encrypted to another certificate")


def _allowed(name: str | None, oid: str, policy: CipherPolicy) -> _Cipher:
    if name is None or name not in CIPHERS:
        raise ScepError(FailInfo.BAD_ALG, f"content encryption {oid} is not accepted (use AES-CBC)")
    if name == "des" and not policy.allow_des:
        raise ScepError(FailInfo.BAD_ALG, "single DES is disabled on this RA (use AES-CBC)")
    if name == "3des" and not policy.allow_3des:
        raise ScepError(FailInfo.BAD_ALG, "3DES is disabled on this RA (use AES-CBC)")
    return CIPHERS[name]


def _content_key(
    algorithm: cms.KeyEncryptionAlgorithm,
    encrypted_key: bytes,
    decrypt_key: DecryptKey,
    decrypt_oaep: DecryptOaep | None,
) -> bytes:
    with guard("the key transport parameters are malformed"):
        oid = algorithm["algorithm"].dotted
        oaep_hash = _oaep_hash(algorithm["parameters"]) if oid == _RSAES_OAEP else None
    if oid != _RSA_ENCRYPTION and (oaep_hash is None or decrypt_oaep is None):
        raise ScepError(FailInfo.BAD_ALG, f"key transport {oid} is not accepted (use rsaEncryption)")
    try:
        if oaep_hash is not None and decrypt_oaep is not None:
            return decrypt_oaep(encrypted_key, HASHES[oaep_hash]())
        return decrypt_key(encrypted_key)
    except ValueError as exc:  # a backend without implicit rejection says "decryption failed"
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, _WRONG_KEY) from exc


def _oaep_hash(params: algos.RSAESOAEPParams) -> str | None:
    """RFC 8017 §A.2.1: only OAEP with MGF1 over the same SHA hash and an empty label."""
    hash_name = params["hash_algorithm"]["algorithm"].native
    mgf = params["mask_gen_algorithm"]
    label = params["p_source_algorithm"]["parameters"].native
    simple = mgf["algorithm"].native == "mgf1" and mgf["parameters"]["algorithm"].native == hash_name
    return hash_name if simple and not label and hash_name in HASHES and hash_name != "md5" else None


def _unpad(padded: bytes, block_size: int) -> bytes | None:
    """RFC 5652 §6.3 padding, checked without branching on where it is wrong."""
    count = padded[-1]
    ok = 1 <= count <= block_size
    expected = bytes((count,)) * count if ok else b""
    ok = hmac.compare_digest(padded[-count:] if ok else b"x", expected) and ok
    return padded[:-count] if ok else None


def _one_sequence(plain: bytes) -> bool:
    """Whether ``plain`` is exactly one constructed SEQUENCE (a CSR, IssuerAndSubject...)."""
    try:
        class_, method, tag, _, _, _ = parser.parse(plain, strict=True)
    except PARSE_ERRORS:
        return False
    return (class_, method, tag) == (0, 1, 16)


# -- sealing ------------------------------------------------------------------------------


def seal_envelope(content: bytes, recipient: x509.Certificate, cipher: str = "aes256") -> bytes:
    """ContentInfo(EnvelopedData) DER: ``content`` under a fresh key and IV, the key sent to
    ``recipient``'s RSA key with PKCS#1 v1.5 (RFC 8894 §3.2.2, RFC 5652 §6.2.1)."""
    public_key = recipient.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ScepError(FailInfo.BAD_ALG, "SCEP envelopes need an RSA recipient key")
    if cipher not in CIPHERS:
        raise ValueError(f"unknown cipher {cipher!r}")
    spec = CIPHERS[cipher]
    key, iv = os.urandom(spec.key_size), os.urandom(spec.block_size)
    pad = spec.block_size - len(content) % spec.block_size
    encryptor = Cipher(_algorithm(cipher, key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(content + bytes((pad,)) * pad) + encryptor.finalize()
    parts = Envelope(
        recipient=recipient,
        key_transport=der.sequence(der.oid(_RSA_ENCRYPTION), der.null()),
        encrypted_key=public_key.encrypt(key, padding.PKCS1v15()),
        cipher_oid=spec.oid,
        iv=iv,
        ciphertext=ciphertext,
    )
    return enveloped(parts)
