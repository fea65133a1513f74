"""Revocation (RFC 8555 §7.6): by the account that ordered the certificate, or by whoever holds
the certificate's key; carried out by the certificates service as ``acme:{directory}``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chancery.domain.acme import AccountRecord, b64url_decode
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.errors import BadRevocationReason, CAError, Malformed, NotFound
from chancery.services.acme.auditing import Refusals
from chancery.services.acme.directories import AcmeDirectories, revoker
from chancery.services.acme.errors import AccountUnauthorized
from chancery.services.certificates import CertificateService, RevokeRequest
from chancery.services.ports import Transactions

_ALLOWED = {
    r.value: r for r in RevocationReason if r not in (RevocationReason.removeFromCRL, RevocationReason.certificateHold)
}


@dataclass(frozen=True)
class AcmeRevocation:
    directory: str
    payload: dict[str, Any]
    account: AccountRecord | None = None  # signed with the account's key (kid)
    key_spki: bytes | None = None  # or with the certificate's key (jwk): its SubjectPublicKeyInfo


class AcmeRevoker:
    def __init__(
        self,
        transactions: Transactions,
        directories: AcmeDirectories,
        certificates: CertificateService,
        refusals: Refusals,
    ) -> None:
        self._tx = transactions
        self._directories = directories
        self._certificates = certificates
        self._refusals = refusals

    def revoke(self, request: AcmeRevocation) -> None:
        directory = self._directories.get(request.directory)
        ca = self._directories.ca_of(directory)
        certificate, reason = _parse(request.payload)
        serial = SerialNumber(certificate.serial_number)
        with self._tx.read() as uow:
            record = uow.certificates.get(ca, serial)
            order = uow.acme.order_for_certificate(ca, serial.hex)
        if record is None or record.der != certificate.public_bytes(Encoding.DER):
            raise NotFound("this directory's CA did not issue that certificate")
        try:
            self._authorise(request, certificate, order.account_id if order else None)
        except CAError as refused:
            who = f"acme:{directory.name}/{request.account.account_id}" if request.account else f"acme:{directory.name}"
            self._refusals.record("acme.revocation.refused", who, serial.hex, {"reason": refused.detail})
            raise
        self._certificates.revoke(revoker(directory, ca), RevokeRequest(ca, serial, reason))

    def revoke_for_operator(self, directory_name: str, ca: str, serial: str, reason: RevocationReason) -> None:
        directory = self._directories.get(directory_name)
        self._certificates.revoke(revoker(directory, ca), RevokeRequest(ca, SerialNumber.from_hex(serial), reason))

    @staticmethod
    def _authorise(request: AcmeRevocation, certificate: x509.Certificate, owner: str | None) -> None:
        if request.account is not None:
            if owner != request.account.account_id:
                raise AccountUnauthorized("this account did not order that certificate")
            return
        spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        if request.key_spki != spki:
            raise AccountUnauthorized(
                "the request is signed neither by the ordering account nor by the certificate's key"
            )


def _parse(payload: dict[str, Any]) -> tuple[x509.Certificate, RevocationReason]:
    try:
        certificate = x509.load_der_x509_certificate(b64url_decode(payload.get("certificate")))  # type: ignore[arg-type]
    except (ValueError, CAError):
        raise Malformed("certificate must be a base64url DER certificate") from None
    code = payload.get("reason", 0)
    if not isinstance(code, int) or isinstance(code, bool) or code not in _ALLOWED:
        raise BadRevocationReason(f"unsupported revocation reason {code!r} (RFC 5280 §5.3.1)")
    return certificate, _ALLOWED[code]
