"""Payment brands' issuer key request and certificate response files, as data.

Every brand asks for the same things (EMV Book 2 §5: the issuer identifier, expiry, serial and
key, with a proof of possession) and answers with the same certificate (format '02', tags 90,
92, 9F32 and the CA index 8F); the files differ in headers, a service identifier, an issuer key
index, the digest sent out of band, the order of the clear fields and file names. One encoder
and one parser serve all brands; :data:`BRANDS` holds each brand's differences.

The brands' file specifications are confidential to their members. What could be read in public
sources is marked ``seen`` in each brand's notes; everything in ``unseen`` is our choice, to be
checked against the brand's kit before production use (docs/emv-brands.md says how).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from enum import StrEnum

from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import Expiry, check_serial, cn_to_digits, digits_to_cn, parse_issuer_identifier
from chancery.emv.framing import HASH_SHA1, PK_RSA, sign_block
from chancery.emv.issuer_certificate import IssuerCertificate
from chancery.emv.issuer_request import IssuerKeyRequest
from chancery.emv.rsa import EmvPublicKey, RawSigner, parse_exponent, recover

MAX_FILE_BYTES = 4096  # the longest request or response (1984-bit keys, detached signature) is < 1.1 KiB


class ResponseStyle(StrEnum):
    CLEAR_FIELDS = "clear-fields"  # header, [service id], identifier, serial, expiry, remainder, exponent, CA index
    INDEXED = "indexed"  # identifier, issuer key index, CA index, remainder, exponent


@dataclass(frozen=True)
class Brand:
    name: str
    rid: str  # the brand's Registered Application Provider Identifier (ISO/IEC 7816-5)
    request_header: int
    response_header: int | None  # CLEAR_FIELDS responses start with it
    service_identifier: bytes  # 4 bytes after the header, or empty
    key_index_length: int  # the issuer's own index for its key (Mastercard: 3 bytes), or 0
    response_style: ResponseStyle
    detached_signature: bool  # the response ends with a second CA signature over the file
    request_digest: str  # "sha1" or "sha256": the request file's digest, confirmed out of band
    request_name: str  # file name templates: {identifier} (BIN, F-padded to 8), {index} (hex), {serial}
    digest_name: str
    response_name: str
    seen: tuple[str, ...] = field(default=())
    unseen: tuple[str, ...] = field(default=())


_COMMON_UNSEEN = (
    "request header byte",
    "request field order",
    "request file name",
    "digest file name and algorithm",
)


def _known_only_from_book_2(name: str, rid: str) -> Brand:
    """A brand whose files no public source shows: the clear-fields layout, SHA-256, our names."""
    return Brand(
        name=name,
        rid=rid,
        request_header=0x22,
        response_header=0x24,
        service_identifier=b"",
        key_index_length=0,
        response_style=ResponseStyle.CLEAR_FIELDS,
        detached_signature=False,
        request_digest="sha256",
        request_name="{identifier}_{serial}.REQ",
        digest_name="{identifier}_{serial}.SHA",
        response_name="{identifier}_{serial}.CRT",
        unseen=(*_COMMON_UNSEEN, "every response field", "response file name"),
    )


BRANDS: dict[str, Brand] = {
    "visa": Brand(
        name="visa",
        rid="A000000003",
        request_header=0x22,
        response_header=0x24,
        service_identifier=bytes(4),
        key_index_length=0,
        response_style=ResponseStyle.CLEAR_FIELDS,
        detached_signature=True,
        request_digest="sha1",
        request_name="{identifier}_{serial}.INP",
        digest_name="{identifier}_{serial}.HSH",
        response_name="{identifier}_{serial}.OUT",
        seen=(
            "response: header, 4-byte service identifier, issuer identifier, serial, expiry, remainder "
            "length and remainder, exponent length and exponent, CA index, certificate, detached signature "
            "recovering to a block starting 00 01",
        ),
        unseen=(*_COMMON_UNSEEN, "response header value", "service identifier value", "detached signature hash"),
    ),
    "mastercard": Brand(
        name="mastercard",
        rid="A000000004",
        request_header=0x22,
        response_header=None,
        service_identifier=b"",
        key_index_length=3,
        response_style=ResponseStyle.INDEXED,
        detached_signature=False,
        request_digest="sha1",
        request_name="{identifier}{index}.SIP",
        digest_name="{identifier}{index}.HIP",
        response_name="{identifier}{index}.SCI",
        seen=(
            "request: a self-signed certificate with the issuer identification number, expiry, serial and "
            "a 3-byte issuer public key index, and a separate file with its hash",
            "response: issuer identification number, issuer public key index, CA index first; the certificate last",
        ),
        unseen=(*_COMMON_UNSEEN, "response fields between the CA index and the certificate", "response file name"),
    ),
    "amex": _known_only_from_book_2("amex", "A000000025"),
    "jcb": _known_only_from_book_2("jcb", "A000000065"),
}


def brand(name: str) -> Brand:
    found = BRANDS.get(name.lower())
    if found is None:
        raise EmvError(Reason.BAD_FIELD, f"unknown brand {name!r}; use one of: {', '.join(BRANDS)}")
    return found


@dataclass(frozen=True)
class RequestFile:
    """A brand's issuer key request: the clear fields, the key and the self-signed block."""

    request: IssuerKeyRequest
    signed: bytes
    key_index: bytes = b""  # Mastercard's issuer public key index
    service_identifier: bytes = b""


@dataclass(frozen=True)
class ResponseFile:
    """A brand's certificate response: the certificate with its remainder and exponent (90, 92,
    9F32), the CA index (8F), and the clear fields the file repeats."""

    certificate: IssuerCertificate
    ca_index: int
    issuer_identifier: str
    serial: bytes = b""
    expiry: Expiry | None = None
    key_index: bytes = b""


# -- names and digests -------------------------------------------------------------------------------


def file_name(template: str, identifier: str, serial: bytes, key_index: bytes = b"") -> str:
    return template.format(
        identifier=identifier.ljust(8, "F"), serial=serial.hex().upper(), index=key_index.hex().upper()
    )


def request_digest(spec: Brand, data: bytes) -> str:
    """The digest of a request file the issuer confirms out of band (upper-case hex)."""
    return hashlib.new(spec.request_digest, data).hexdigest().upper()


# -- requests --------------------------------------------------------------------------------------


def encode_request(spec: Brand, request: RequestFile) -> bytes:
    """``header || [service identifier] || issuer identifier (cn, 4) || [issuer key index] || expiry
    || serial || hash and key algorithm indicators || key length || exponent length || key ||
    exponent || self-signed block``."""
    fields = request.request
    _check_optional(spec, request.key_index, request.service_identifier)
    return b"".join(
        (
            bytes([spec.request_header]),
            request.service_identifier,
            digits_to_cn(fields.issuer_identifier, 4),
            request.key_index,
            fields.expiry.bcd,
            fields.serial,
            bytes([HASH_SHA1, PK_RSA, fields.key.length, len(fields.key.exponent_bytes)]),
            fields.key.modulus,
            fields.key.exponent_bytes,
            request.signed,
        )
    )


def decode_request(spec: Brand, data: bytes) -> RequestFile:
    """Parse a request file (the self-signed block is not verified here: see
    :func:`~chancery.emv.issuer_request.verify_request`). ``wrong-length`` when truncated or
    followed by extra bytes; ``bad-field`` for a wrong header or indicator."""
    reader = _Reader(data, "request")
    reader.expect(spec.request_header, "request header")
    service = reader.take(len(spec.service_identifier), "service identifier")
    identifier = _identifier(reader.take(4, "issuer identifier"))
    key_index = reader.take(spec.key_index_length, "issuer key index")
    expiry = Expiry.from_bcd(reader.take(2, "expiry"))
    serial = check_serial(reader.take(3, "serial"))
    reader.expect(HASH_SHA1, "hash algorithm indicator")
    reader.expect(PK_RSA, "public key algorithm indicator")
    key_length, exponent_length = reader.byte("key length"), reader.byte("exponent length")
    modulus = reader.take(key_length, "issuer key")
    exponent = parse_exponent(reader.take(exponent_length, "exponent"))
    signed = reader.take(key_length, "self-signed block")
    reader.end()
    key = EmvPublicKey(modulus, exponent)
    return RequestFile(IssuerKeyRequest(identifier, expiry, serial, key), signed, key_index, service)


# -- responses -------------------------------------------------------------------------------------


def encode_response(spec: Brand, response: ResponseFile, ca: RawSigner | None = None) -> bytes:
    """The response file for ``response``; brands with a detached signature need the CA's ``ca``."""
    clear = _clear_fields(spec, response)
    body = clear + response.certificate.certificate
    if not spec.detached_signature:
        return body
    if ca is None:
        raise ValueError("this brand's responses carry a detached signature: the CA key is needed")
    return body + sign_block(ca, _detached_block(body, ca.modulus_length))


def decode_response(spec: Brand, data: bytes, ca_key: EmvPublicKey) -> ResponseFile:
    """Parse a response signed by ``ca_key``; its certificate is verified by the caller
    (``verify_issuer_certificate``), its detached signature (when the brand has one) here."""
    reader = _Reader(data, "response")
    serial, expiry, key_index, ca_index = b"", None, b"", 0
    if spec.response_style is ResponseStyle.CLEAR_FIELDS:
        assert spec.response_header is not None
        reader.expect(spec.response_header, "response header")
        reader.take(len(spec.service_identifier), "service identifier")
        identifier = _identifier(reader.take(4, "issuer identifier"))
        serial = check_serial(reader.take(3, "serial"))
        expiry = Expiry.from_bcd(reader.take(2, "expiry"))
    else:
        identifier = _identifier(reader.take(4, "issuer identifier"))
        key_index = reader.take(spec.key_index_length, "issuer key index")
    if spec.response_style is ResponseStyle.INDEXED:
        ca_index = reader.byte("CA index")
    remainder = reader.take(reader.byte("remainder length"), "remainder")
    exponent = reader.take(reader.byte("exponent length"), "exponent")
    parse_exponent(exponent)
    if spec.response_style is ResponseStyle.CLEAR_FIELDS:
        ca_index = reader.byte("CA index")
    signed_length = reader.offset
    certificate = reader.take(ca_key.length, "certificate")
    if spec.detached_signature:
        detached = reader.take(ca_key.length, "detached signature")
        expected = _detached_block(data[: signed_length + ca_key.length], ca_key.length)
        if not hmac.compare_digest(recover(ca_key, detached), expected):
            raise EmvError(Reason.BAD_HASH, "the response's detached signature does not match the file")
    reader.end()
    return ResponseFile(
        IssuerCertificate(certificate, remainder, exponent), ca_index, identifier, serial, expiry, key_index
    )


def _clear_fields(spec: Brand, response: ResponseFile) -> bytes:
    certificate = response.certificate
    _check_optional(spec, response.key_index, spec.service_identifier)
    tail = b"".join(
        (
            bytes([len(certificate.remainder)]),
            certificate.remainder,
            bytes([len(certificate.exponent)]),
            certificate.exponent,
        )
    )
    identifier = digits_to_cn(response.issuer_identifier, 4)
    if spec.response_style is ResponseStyle.INDEXED:
        return identifier + response.key_index + bytes([response.ca_index]) + tail
    if response.expiry is None or len(response.serial) != 3:
        raise ValueError("a clear-fields response repeats the certificate's serial and expiry")
    assert spec.response_header is not None
    head = bytes([spec.response_header]) + spec.service_identifier + identifier + response.serial
    return head + response.expiry.bcd + tail + bytes([response.ca_index])


def _detached_block(data: bytes, length: int) -> bytes:
    """``00 01 FF..FF 00 || '01' (SHA-1) || SHA-1(data)``, ``length`` bytes (our construction)."""
    digest = hashlib.sha1(data).digest()  # noqa: S324 - the indicator says SHA-1, as the certificate's own hash
    padding = length - 3 - 1 - len(digest)
    return b"\x00\x01" + b"\xff" * padding + b"\x00" + bytes([HASH_SHA1]) + digest


def _check_optional(spec: Brand, key_index: bytes, service: bytes) -> None:
    if len(key_index) != spec.key_index_length:
        raise EmvError(Reason.BAD_FIELD, f"{spec.name} needs an issuer key index of {spec.key_index_length} bytes")
    if len(service) != len(spec.service_identifier):
        raise EmvError(Reason.BAD_FIELD, f"{spec.name} needs a {len(spec.service_identifier)}-byte service identifier")


def _identifier(field_bytes: bytes) -> str:
    digits = cn_to_digits(field_bytes)
    if digits is None:
        raise EmvError(Reason.BAD_ISSUER_IDENTIFIER, "the issuer identifier is not BCD digits padded with F")
    return parse_issuer_identifier(digits)


class _Reader:
    """Reads fixed fields off a file, with one error per way it can be wrong."""

    def __init__(self, data: bytes, what: str) -> None:
        if len(data) > MAX_FILE_BYTES:
            raise EmvError(Reason.OVERSIZED, f"a {what} file has at most {MAX_FILE_BYTES} bytes")
        self._data = data
        self._what = what
        self.offset = 0

    def take(self, count: int, name: str) -> bytes:
        end = self.offset + count
        if end > len(self._data):
            raise EmvError(Reason.WRONG_LENGTH, f"the {self._what} file ends inside its {name}")
        value = self._data[self.offset : end]
        self.offset = end
        return value

    def byte(self, name: str) -> int:
        return self.take(1, name)[0]

    def expect(self, value: int, name: str) -> None:
        found = self.byte(name)
        if found != value:
            raise EmvError(Reason.BAD_FIELD, f"the {self._what}'s {name} is {found:02X}, not {value:02X}")

    def end(self) -> None:
        if self.offset != len(self._data):
            extra = len(self._data) - self.offset
            raise EmvError(Reason.WRONG_LENGTH, f"the {self._what} file has {extra} bytes after its last field")
