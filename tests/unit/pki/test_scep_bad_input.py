"""Hostile and broken SCEP input (RFC 8894 §3.3.2.2 failInfo): every case raises ScepError with
the failInfo the CertRep answers with; the ok/ cases prove the tolerated variants still parse."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding

from chancery.errors import Malformed
from chancery.pki import der
from chancery.pki.scep import (
    CipherPolicy,
    FailInfo,
    MessageType,
    ScepError,
    build_pki_message,
    open_envelope,
    parse_issuer_and_serial,
    parse_issuer_and_subject,
    parse_pki_message,
    seal_envelope,
)
from chancery.pki.scep.client import PrivateKeySigner, request_attributes
from chancery.pki.scep.cms import SignedContent, sign
from tests.unit.pki.test_scep_roundtrip import (
    NOW,
    ca_certificate,
    client_request,
    csr_der,
    name,
    ra_open,
    rsa_decryptor,
    rsa_key,
    transient_certificate,
)

# -- building blocks --------------------------------------------------------------------------


def good() -> bytes:
    return build_pki_message(client_request())


def ber(der: bytes, chunk: int = 64) -> bytes:
    """Re-encode DER as BER: every constructed element with an indefinite length, every long
    primitive OCTET STRING as a constructed string of chunks (X.690 §8.1.3.6, §8.7.3)."""
    out = bytearray()
    pos = 0
    while pos < len(der):
        tag = der[pos]
        first = der[pos + 1]
        pos += 2
        if first & 0x80:
            count = first & 0x7F
            size = int.from_bytes(der[pos : pos + count], "big")
            pos += count
        else:
            size = first
        content = der[pos : pos + size]
        pos += size
        if tag & 0x20:
            out += bytes((tag, 0x80)) + ber(content, chunk) + b"\x00\x00"
        elif tag == 0x04 and len(content) > chunk:
            pieces = [content[i : i + chunk] for i in range(0, len(content), chunk)]
            out += b"\x24\x80" + b"".join(b"\x04" + bytes((len(p),)) + p for p in pieces) + b"\x00\x00"
        else:
            out += _tlv(tag, content)
    return bytes(out)


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(body))) + body + content


def resign(
    body: bytes,
    edit: Callable[[list[cms.CMSAttribute]], list[cms.CMSAttribute]] | None = None,
    signed: Callable[[cms.SignedData], None] | None = None,
) -> bytes:
    """Edit a message's signed attributes (or the SignedData) and sign again with the client key."""
    info = cms.ContentInfo.load(body)
    data = info["content"]
    signer_info = data["signer_infos"][0]
    if edit is not None:
        attributes = edit(list(signer_info["signed_attrs"]))
        signer_info["signed_attrs"] = cms.CMSAttributes(attributes)
    if signed is not None:
        signed(data)
    to_sign = signer_info["signed_attrs"].untag().dump(force=True)
    signer_info["signature"] = rsa_key("client").sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
    return info.dump(force=True)


def without(attribute: str) -> Callable[[list[cms.CMSAttribute]], list[cms.CMSAttribute]]:
    return lambda attrs: [a for a in attrs if a["type"].native != attribute]


def replaced(attribute: str, value: object) -> Callable[[list[cms.CMSAttribute]], list[cms.CMSAttribute]]:
    def edit(attrs: list[cms.CMSAttribute]) -> list[cms.CMSAttribute]:
        kept = without(attribute)(attrs)
        return [*kept, cms.CMSAttribute({"type": attribute, "values": [value]})]

    return edit


def printable(value: str) -> object:
    from chancery.pki.scep.messages import printable as make

    return make(value)


def tamper_attribute() -> bytes:
    """Change the transactionID after signing."""
    info = cms.ContentInfo.load(good())
    signer_info = info["content"]["signer_infos"][0]
    attrs = [a for a in signer_info["signed_attrs"] if a["type"].native != "scep_transaction_id"]
    attrs.append(cms.CMSAttribute({"type": "scep_transaction_id", "values": [printable("forged")]}))
    signer_info["signed_attrs"] = cms.CMSAttributes(attrs)
    return info.dump(force=True)


def tamper_content() -> bytes:
    """Flip a bit of the encapsulated envelope: messageDigest no longer matches."""
    body = bytearray(good())
    marker = body.find(bytes.fromhex("2a864886f70d010703"))  # id-envelopedData inside eContent
    body[marker + 40] ^= 0x01
    return bytes(body)


def two_signers() -> bytes:
    info = cms.ContentInfo.load(good())
    infos = info["content"]["signer_infos"]
    info["content"]["signer_infos"] = cms.SignerInfos([infos[0], infos[0]])
    return info.dump(force=True)


def foreign_signer_certificate(data: cms.SignedData) -> None:
    other = transient_certificate(rsa_key("other"), name("device-1"), NOW)
    data["certificates"] = [
        cms.CertificateChoices(name="certificate", value=asn1_x509.Certificate.load(other.public_bytes(Encoding.DER)))
    ]


def no_certificates(data: cms.SignedData) -> None:
    data["certificates"] = cms.CertificateSet([])


def nonce_of_wrong_type() -> bytes:
    """senderNonce as a PrintableString (after signing: the parse fails before the signature)."""
    body = build_pki_message(client_request(sender_nonce=b"\x07" * 16))
    assert body.count(b"\x04\x10" + b"\x07" * 16) == 1
    return body.replace(b"\x04\x10" + b"\x07" * 16, b"\x13\x10" + b"abcdefgh" * 2)


def chunked_encrypted_content() -> bytes:
    """The EnvelopedData's [0] IMPLICIT encryptedContent as BER: constructed, in 16-byte chunks."""
    info = cms.ContentInfo.load(sealed())
    encrypted = info["content"]["encrypted_content_info"]["encrypted_content"]
    primitive = encrypted.dump()
    data = encrypted.native
    chunks = b"".join(der.octet_string(data[i : i + 16]) for i in range(0, len(data), 16))
    whole = ber(info.dump())  # every container indefinite: no lengths to fix after the swap
    assert whole.count(primitive) == 1
    return whole.replace(primitive, b"\xa0\x80" + chunks + b"\x00\x00")


def md5_message() -> bytes:
    request = client_request(digest_algorithm="md5")
    what = SignedContent(b"\x30\x00", request_attributes(request), (request.signer_certificate,), "md5")
    return sign(what, PrivateKeySigner(request.signer_key), request.signer_certificate)


def digest_oid(dotted: str) -> Callable[[cms.SignedData], None]:
    def edit(data: cms.SignedData) -> None:
        data["signer_infos"][0]["digest_algorithm"] = algos.DigestAlgorithm({"algorithm": dotted})

    return edit


def signature_oid(dotted: str) -> Callable[[cms.SignedData], None]:
    def edit(data: cms.SignedData) -> None:
        data["signer_infos"][0]["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": dotted})

    return edit


def wrong_outer_type() -> bytes:
    return cms.ContentInfo({"content_type": "data", "content": b"\x30\x00"}).dump()


def enveloped_at_top() -> bytes:
    return seal_envelope(csr_der(rsa_key("client")), ca_certificate())


def no_content(data: cms.SignedData) -> None:
    data["encap_content_info"] = {"content_type": "data"}


# -- pkiMessage -------------------------------------------------------------------------------

GOOD = good()
BAD_MESSAGES: list[tuple[str, Callable[[], bytes], FailInfo]] = [
    ("fail/empty", lambda: b"", FailInfo.BAD_REQUEST),
    ("fail/garbage", lambda: bytes(range(256)) * 4, FailInfo.BAD_REQUEST),
    ("fail/ascii-text", lambda: b"GET /scep?operation=PKIOperation", FailInfo.BAD_REQUEST),
    ("fail/huge-length-claim", lambda: b"\x30\x84\xff\xff\xff\xff\x06\x00", FailInfo.BAD_REQUEST),
    ("fail/deep-nesting", lambda: b"\x30\x80" * 5000, FailInfo.BAD_REQUEST),
    ("fail/trailing-bytes", lambda: GOOD + b"\x00\x01\x02", FailInfo.BAD_REQUEST),
    ("fail/oversized", lambda: GOOD + b"\x00" * (256 * 1024), FailInfo.BAD_REQUEST),
    ("fail/wrong-outer-content-type", wrong_outer_type, FailInfo.BAD_REQUEST),
    ("fail/enveloped-data-at-top", enveloped_at_top, FailInfo.BAD_REQUEST),
    ("fail/two-signers", two_signers, FailInfo.BAD_REQUEST),
    ("fail/no-content", lambda: resign(GOOD, signed=no_content), FailInfo.BAD_REQUEST),
    ("fail/missing-content-type", lambda: resign(GOOD, without("content_type")), FailInfo.BAD_REQUEST),
    ("fail/missing-message-digest", lambda: resign(GOOD, without("message_digest")), FailInfo.BAD_REQUEST),
    ("fail/missing-message-type", lambda: resign(GOOD, without("scep_message_type")), FailInfo.BAD_REQUEST),
    ("fail/missing-transaction-id", lambda: resign(GOOD, without("scep_transaction_id")), FailInfo.BAD_REQUEST),
    ("fail/missing-sender-nonce", lambda: resign(GOOD, without("scep_sender_nonce")), FailInfo.BAD_REQUEST),
    ("fail/unknown-message-type", lambda: resign(GOOD, replaced("scep_message_type", printable("99"))), 2),
    ("fail/certrep-as-request", lambda: resign(GOOD, replaced("scep_message_type", printable("3"))), 2),
    ("fail/message-type-not-a-number", lambda: resign(GOOD, replaced("scep_message_type", printable("x"))), 2),
    ("fail/short-nonce", lambda: resign(GOOD, replaced("scep_sender_nonce", b"\x01" * 4)), 2),
    ("fail/empty-transaction-id", lambda: resign(GOOD, replaced("scep_transaction_id", printable(""))), 2),
    ("fail/nonce-of-wrong-type", nonce_of_wrong_type, FailInfo.BAD_REQUEST),
    ("fail/duplicated-attribute", lambda: resign(GOOD, lambda a: [*a, a[0]]), FailInfo.BAD_REQUEST),
    ("fail/content-type-not-data", lambda: resign(GOOD, replaced("content_type", "signed_data")), 2),
    ("fail/tampered-signed-attribute", tamper_attribute, FailInfo.BAD_MESSAGE_CHECK),
    ("fail/tampered-content", tamper_content, FailInfo.BAD_MESSAGE_CHECK),
    ("fail/signer-not-in-certificates", lambda: resign(GOOD, signed=foreign_signer_certificate), 1),
    ("fail/no-certificates", lambda: resign(GOOD, signed=no_certificates), FailInfo.BAD_MESSAGE_CHECK),
    ("fail/md5-digest", md5_message, FailInfo.BAD_ALG),
    ("fail/unknown-digest", lambda: resign(GOOD, signed=digest_oid("2.16.840.1.101.3.4.2.8")), FailInfo.BAD_ALG),
    ("fail/dsa-signature", lambda: resign(GOOD, signed=signature_oid("2.16.840.1.101.3.4.3.2")), 0),
    ("fail/ecdsa-oid-rsa-key", lambda: resign(GOOD, signed=signature_oid("1.2.840.10045.4.3.2")), 0),
] + [
    (f"fail/truncated-at-{n}", lambda n=n: GOOD[:n], FailInfo.BAD_REQUEST)
    for n in (1, 2, 4, 20, 100, 500, len(GOOD) // 2, len(GOOD) - 1)
]


@pytest.mark.parametrize(("make", "fail_info"), [pytest.param(m, f, id=i) for i, m, f in BAD_MESSAGES])
def test_bad_pki_message(make: Callable[[], bytes], fail_info: FailInfo) -> None:
    with pytest.raises(ScepError) as raised:
        parse_pki_message(make())
    assert raised.value.fail_info == fail_info, raised.value.detail
    assert isinstance(raised.value, Malformed)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: GOOD, id="ok/der"),
        pytest.param(lambda: ber(GOOD), id="ok/ber-indefinite-lengths-and-chunked-strings"),
        pytest.param(lambda: resign(GOOD, replaced("scep_sender_nonce", b"\x07" * 8)), id="ok/nonce-8-octets"),
        pytest.param(lambda: resign(GOOD, replaced("scep_sender_nonce", b"\x07" * 64)), id="ok/nonce-64-octets"),
        pytest.param(lambda: resign(GOOD, signed=signature_oid("1.2.840.113549.1.1.1")), id="ok/rsaEncryption-oid"),
    ],
)
def test_tolerated_pki_message(make: Callable[[], bytes]) -> None:
    message = parse_pki_message(make())
    assert message.message_type is MessageType.PKCS_REQ
    assert ra_open(message.enveloped_data) == csr_der(rsa_key("client"))


def test_max_bytes_is_configurable() -> None:
    with pytest.raises(ScepError, match="larger than 1000"):
        parse_pki_message(GOOD, max_bytes=1000)


# -- envelope ---------------------------------------------------------------------------------


def sealed(cipher: str = "aes256") -> bytes:
    return seal_envelope(csr_der(rsa_key("client")), ca_certificate(), cipher)


def content_algorithm(dotted: str, iv: bytes) -> bytes:
    info = cms.ContentInfo.load(sealed())
    info["content"]["encrypted_content_info"]["content_encryption_algorithm"] = algos.EncryptionAlgorithm(
        {"algorithm": dotted, "parameters": core.OctetString(iv)}
    )
    return info.dump(force=True)


def oaep_envelope() -> bytes:
    info = cms.ContentInfo.load(sealed())
    ktri = info["content"]["recipient_infos"][0].chosen
    cek = rsa_key("ca").decrypt(ktri["encrypted_key"].native, padding.PKCS1v15())
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    ktri["encrypted_key"] = ca_certificate().public_key().encrypt(cek, oaep)
    ktri["key_encryption_algorithm"] = cms.KeyEncryptionAlgorithm(
        {
            "algorithm": "rsaes_oaep",
            "parameters": {
                "hash_algorithm": {"algorithm": "sha256"},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
            },
        }
    )
    return info.dump(force=True)


def oaep_decryptor(encrypted: bytes, algorithm: hashes.HashAlgorithm) -> bytes:
    return rsa_key("ca").decrypt(encrypted, padding.OAEP(padding.MGF1(algorithm), algorithm, None))


def wrong_rsa_key(encrypted: bytes) -> bytes:
    """Another RSA key: OpenSSL either fails or (implicit rejection) returns random bytes."""
    return rsa_key("other").decrypt(encrypted, padding.PKCS1v15())


def refusing_key(encrypted: bytes) -> bytes:
    raise ValueError("decryption failed")


BAD_ENVELOPES: list[tuple[str, Callable[[], bytes], Callable[[bytes], bytes], CipherPolicy, FailInfo]] = [
    ("fail/empty", lambda: b"", rsa_decryptor(rsa_key("ca")), CipherPolicy(), FailInfo.BAD_REQUEST),
    ("fail/garbage", lambda: b"\x30\x03\x02\x01", rsa_decryptor(rsa_key("ca")), CipherPolicy(), 2),
    ("fail/truncated", lambda: sealed()[:-7], rsa_decryptor(rsa_key("ca")), CipherPolicy(), 2),
    ("fail/signed-data-not-enveloped", lambda: GOOD, rsa_decryptor(rsa_key("ca")), CipherPolicy(), 2),
    ("fail/des-when-des-is-off", lambda: sealed("des"), rsa_decryptor(rsa_key("ca")), CipherPolicy(), 0),
    ("fail/3des-when-3des-is-off", lambda: sealed("3des"), rsa_decryptor(rsa_key("ca")), CipherPolicy(False), 0),
    (
        "fail/aes-gcm",
        lambda: content_algorithm("2.16.840.1.101.3.4.1.46", b"\x00" * 12),
        rsa_decryptor(rsa_key("ca")),
        CipherPolicy(),
        FailInfo.BAD_ALG,
    ),
    (
        "fail/aes-ofb",
        lambda: content_algorithm("2.16.840.1.101.3.4.1.43", b"\x00" * 16),
        rsa_decryptor(rsa_key("ca")),
        CipherPolicy(),
        FailInfo.BAD_ALG,
    ),
    (
        "fail/unknown-cipher",
        lambda: content_algorithm("1.2.392.200011.61.1.1.1.2", b"\x00" * 16),
        rsa_decryptor(rsa_key("ca")),
        CipherPolicy(),
        FailInfo.BAD_ALG,
    ),
    (
        "fail/short-iv",
        lambda: content_algorithm("2.16.840.1.101.3.4.1.42", b"\x00" * 8),
        rsa_decryptor(rsa_key("ca")),
        CipherPolicy(),
        FailInfo.BAD_REQUEST,
    ),
    ("fail/oaep-without-an-oaep-key", oaep_envelope, rsa_decryptor(rsa_key("ca")), CipherPolicy(), FailInfo.BAD_ALG),
    ("fail/garbage-content-key", sealed, lambda _: bytes(range(32)), CipherPolicy(), FailInfo.BAD_MESSAGE_CHECK),
    ("fail/short-content-key", sealed, lambda _: b"\x01" * 5, CipherPolicy(), FailInfo.BAD_MESSAGE_CHECK),
    ("fail/wrong-rsa-key", sealed, wrong_rsa_key, CipherPolicy(), FailInfo.BAD_MESSAGE_CHECK),
    ("fail/key-refuses", sealed, refusing_key, CipherPolicy(), FailInfo.BAD_MESSAGE_CHECK),
]


@pytest.mark.parametrize(
    ("make", "decrypt", "policy", "fail_info"), [pytest.param(m, d, p, f, id=i) for i, m, d, p, f in BAD_ENVELOPES]
)
def test_bad_envelope(
    make: Callable[[], bytes], decrypt: Callable[[bytes], bytes], policy: CipherPolicy, fail_info: FailInfo
) -> None:
    with pytest.raises(ScepError) as raised:
        open_envelope(make(), ca_certificate(), decrypt, policy)
    assert raised.value.fail_info == fail_info, raised.value.detail


def test_wrong_key_failures_say_the_same() -> None:
    """Padding errors and bad inner DER must not be told apart (a padding oracle)."""
    details = set()
    for decrypt in (wrong_rsa_key, refusing_key, lambda _: bytes(range(32)), lambda _: bytes(32)):
        for _ in range(3):
            with pytest.raises(ScepError) as raised:
                open_envelope(sealed(), ca_certificate(), decrypt, CipherPolicy())
            details.add(raised.value.detail)
    assert len(details) == 1


def test_envelope_to_another_certificate() -> None:
    other = transient_certificate(rsa_key("other"), name("SCEP ca"), NOW)
    with pytest.raises(ScepError, match="encrypted to another certificate") as raised:
        open_envelope(sealed(), other, rsa_decryptor(rsa_key("other")), CipherPolicy())
    assert raised.value.fail_info is FailInfo.BAD_MESSAGE_CHECK


@pytest.mark.parametrize(
    ("make", "policy", "decrypt_oaep"),
    [
        pytest.param(lambda: sealed("des"), CipherPolicy(allow_des=True), None, id="ok/des-when-allowed"),
        pytest.param(lambda: sealed("3des"), CipherPolicy(), None, id="ok/3des-by-default"),
        pytest.param(lambda: sealed("aes192"), CipherPolicy(False, False), None, id="ok/aes192"),
        pytest.param(oaep_envelope, CipherPolicy(), oaep_decryptor, id="ok/oaep-sha256"),
        pytest.param(lambda: ber(sealed()), CipherPolicy(), None, id="ok/ber"),
        pytest.param(chunked_encrypted_content, CipherPolicy(), None, id="ok/ber-chunked-implicit-content"),
    ],
)
def test_tolerated_envelope(make: Callable[[], bytes], policy: CipherPolicy, decrypt_oaep) -> None:
    plain = open_envelope(make(), ca_certificate(), rsa_decryptor(rsa_key("ca")), policy, decrypt_oaep=decrypt_oaep)
    assert plain == csr_der(rsa_key("client"))


def test_seal_refuses_a_non_rsa_recipient() -> None:
    from tests.unit.pki.test_scep_roundtrip import ec_ca_certificate

    with pytest.raises(ScepError) as raised:
        seal_envelope(b"\x30\x00", ec_ca_certificate())
    assert raised.value.fail_info is FailInfo.BAD_ALG


@pytest.mark.parametrize(
    "body",
    [b"", b"\x30\x00", b"\x30\x03\x02\x01\x01", b"\x31\x00", bytes(range(40))],
    ids=lambda b: f"fail/{b[:4].hex()}",
)
def test_bad_request_bodies(body: bytes) -> None:
    for parse in (parse_issuer_and_subject, parse_issuer_and_serial):
        with pytest.raises(ScepError) as raised:
            parse(body)
        assert raised.value.fail_info is FailInfo.BAD_REQUEST


def test_ber_rewrite_leaves_der_alone_and_makes_lengths_definite() -> None:
    from chancery.pki.scep.ber import definite

    assert definite(GOOD) is GOOD
    indefinite = ber(GOOD)
    assert indefinite.startswith(b"\x30\x80") and indefinite != GOOD
    rewritten = definite(indefinite)
    assert len(rewritten) < len(indefinite) and b"\x24\x80" not in rewritten[:200]  # chunks joined
    assert parse_pki_message(rewritten).enveloped_data == parse_pki_message(GOOD).enveloped_data
