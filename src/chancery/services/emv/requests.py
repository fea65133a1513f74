"""Issuer key requests and certificate responses in the payment brands' file layouts.

An issuer here writes the self-signed request its brand asks for (and the digest it confirms
out of band), and later imports the brand's response; a scheme CA here (test CAs,
private-label schemes, labs) answers requests from issuers elsewhere, after checking each
request's proof of possession. Layouts are data: :mod:`chancery.emv.brands`.
"""

from __future__ import annotations

from dataclasses import dataclass

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent
from chancery.domain.emv_records import IssuerCertification
from chancery.domain.permissions import Permission
from chancery.domain.principals import Principal
from chancery.emv.brands import (
    RequestFile,
    ResponseFile,
    brand,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    file_name,
    request_digest,
)
from chancery.emv.capk import CaPublicKey
from chancery.emv.errors import EmvError, Reason
from chancery.emv.fields import Expiry, check_serial
from chancery.emv.issuer_certificate import IssuerCertificate
from chancery.emv.issuer_request import IssuerKeyRequest, sign_request, verify_request
from chancery.emv.rsa import EmvPublicKey
from chancery.errors import Malformed
from chancery.keys.base import KeyStore
from chancery.services.authorization import require
from chancery.services.emv.service import CertificationSubject, EmvService
from chancery.services.ports import DurableWriter


@dataclass(frozen=True)
class BrandFiles:
    """Files to hand over: name -> content; ``digest`` is the request's, read out of band."""

    files: dict[str, bytes]
    digest: str = ""


@dataclass(frozen=True)
class NewIssuerRequest:
    issuer: str
    brand: str
    expiry: str  # MMYY: how long the issuer asks its certificate to last
    serial: bytes = b"\x00\x00\x01"  # the issuer's reference for this request
    key_index: bytes = b""  # Mastercard: the issuer's 3-byte index for this key
    service_identifier: bytes | None = None  # Visa: 4 bytes (the brand's default when None)


class EmvRequests:
    def __init__(self, writer: DurableWriter, keys: KeyStore, clock: Clock, emv: EmvService) -> None:
        self._writer = writer
        self._keys = keys
        self._clock = clock
        self._emv = emv

    def issuer_request(self, principal: Principal, new: NewIssuerRequest) -> BrandFiles:
        """The self-signed request for ``new.issuer``'s key in ``new.brand``'s layout, and its digest."""
        require(principal, Permission.CA_MANAGE, new.issuer)
        spec = brand(new.brand)
        record = self._emv.issuer(principal, new.issuer)
        expiry = Expiry.parse(new.expiry)
        if expiry.has_expired(self._clock.now().date()):
            raise Malformed(f"expiry {new.expiry} is in the past")
        key = self._keys.load_raw_rsa(record.key_id)
        public = EmvPublicKey.from_numbers(record.modulus, record.exponent)
        request = IssuerKeyRequest(record.issuer_identifier, expiry, check_serial(new.serial), public)
        service = spec.service_identifier if new.service_identifier is None else new.service_identifier
        data = encode_request(spec, RequestFile(request, sign_request(request, key), new.key_index, service))
        digest = request_digest(spec, data)
        names = (record.issuer_identifier, new.serial, new.key_index)
        now = self._clock.now()
        details = {"brand": spec.name, "expiry": expiry.mmyy, "serial": new.serial.hex().upper(), "digest": digest}
        event = AuditEvent("emv.issuer-request-created", principal.name, ca=record.name, details=details)
        self._writer.run(lambda uow: uow.audit.append([event], now))
        files = {
            file_name(spec.request_name, *names): data,
            file_name(spec.digest_name, *names): (digest + "\n").encode("ascii"),
        }
        return BrandFiles(files, digest)

    def answer_request(self, principal: Principal, ca: str, brand_name: str, data: bytes) -> BrandFiles:
        """As scheme CA ``ca``: check a request's proof of possession, certify its key, and write the
        response in the brand's layout."""
        require(principal, Permission.CA_MANAGE, ca)
        spec = brand(brand_name)
        received = decode_request(spec, data)
        request = verify_request(received.request.key, received.signed, self._clock.now().date())
        label = f"request {request_digest(spec, data)[:16]} ({spec.name})"
        subject = CertificationSubject(request.issuer_identifier, request.key, request.expiry, label)
        certification = self._emv.certify_key(principal, ca, subject)
        certificate = IssuerCertificate(certification.certificate, certification.remainder, certification.exponent)
        response = ResponseFile(
            certificate,
            certification.ca_index,
            request.issuer_identifier,
            certification.serial,
            request.expiry,
            received.key_index,
        )
        signer = self._keys.load_raw_rsa(self._emv.ca(principal, ca).key_id) if spec.detached_signature else None
        body = encode_response(spec, response, signer)
        name = file_name(spec.response_name, request.issuer_identifier, request.serial, received.key_index)
        return BrandFiles({name: body})

    def import_response(
        self, principal: Principal, issuer: str, brand_name: str, data: bytes, ca_key: CaPublicKey
    ) -> IssuerCertification:
        """Keep the certificate in a brand's response for ``issuer``, once the file and the
        certificate verify against the scheme CA's public key ``ca_key``."""
        spec = brand(brand_name)
        response = decode_response(spec, data, ca_key.key)
        if response.ca_index != ca_key.index:
            raise EmvError(
                Reason.BAD_FIELD,
                f"the response names CA index {response.ca_index:02X}; the CA key given is {ca_key.index:02X}",
            )
        return self._emv.import_certification(principal, issuer, ca_key, response.certificate)
