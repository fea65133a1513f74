"""The OCSP responder service against a real database."""

import datetime as dt
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp as pyca_ocsp

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.principals import Principal
from chancery.domain.records import CertificateAuthorityRecord
from chancery.domain.revocation import RevocationReason
from chancery.domain.revocation_records import OcspSigning, RevocationSettings
from chancery.domain.serials import SerialNumber
from chancery.pki.ocsp import make_cert_id
from chancery.services.authority.issuance import IssueFromCsr
from chancery.services.certificates import RevokeRequest
from tests.support.csrs import make_csr
from tests.unit.pki.test_issuer import self_signed_root
from tests.unit.pki.test_ocsp import ocsp_findings, request_der

pytestmark = pytest.mark.integration


@pytest.fixture
def ca_cert(issuing: CertificateAuthorityRecord) -> x509.Certificate:
    return x509.load_der_x509_certificate(issuing.certificate)  # type: ignore[arg-type]


def issue(app: wiring.Application, admin: Principal) -> int:
    return app.issuance.issue_from_csr(
        admin, IssueFromCsr("issuing", "tls-server", make_csr()[1])
    ).certificate.serial_number


def ask(
    app: wiring.Application,
    ca_cert: x509.Certificate,
    serials: list[int],
    nonce: bytes | None = None,
    algorithm: str = "sha1",
) -> pyca_ocsp.OCSPResponse:
    request = request_der([make_cert_id(ca_cert, s, algorithm) for s in serials], nonce=nonce)
    return pyca_ocsp.load_der_ocsp_response(app.ocsp.answer(request).der)


def test_good_revoked_unknown_and_unauthorized(
    app: wiring.Application, admin: Principal, ca_cert: x509.Certificate, root: CertificateAuthorityRecord
) -> None:
    good, bad = issue(app, admin), issue(app, admin)
    app.certificates.revoke(admin, RevokeRequest("issuing", SerialNumber(bad), RevocationReason.keyCompromise))
    response = ask(app, ca_cert, [good, bad, 12345], nonce=b"n" * 20)
    assert [r.certificate_status for r in response.responses] == [
        pyca_ocsp.OCSPCertStatus.GOOD,
        pyca_ocsp.OCSPCertStatus.REVOKED,
        pyca_ocsp.OCSPCertStatus.UNKNOWN,
    ]
    revoked = list(response.responses)[1]
    assert revoked.revocation_reason is x509.ReasonFlags.key_compromise
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"n" * 20
    assert ocsp_findings(app.ocsp.answer(request_der([make_cert_id(ca_cert, good)])).der) == []
    # a delegated responder, certified by the CA with id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1)
    (responder,) = response.certificates
    responder.verify_directly_issued_by(ca_cert)
    responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    assert responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [x509.ObjectIdentifier("1.3.6.1.5.5.7.3.9")]
    )
    # a CA this responder does not serve
    foreign = self_signed_root().certificate
    assert ask(app, foreign, [good]).response_status is pyca_ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_presigned_responses_follow_revocation_at_once(
    app: wiring.Application, admin: Principal, ca_cert: x509.Certificate, settings: object, clock: FixedClock
) -> None:
    serial = issue(app, admin)
    request = request_der([make_cert_id(ca_cert, serial, "sha256")])
    first = app.ocsp.answer(request)
    assert app.ocsp.answer(request).der == first.der  # pre-signed: the same bytes again
    assert first.next_update is not None and first.this_update is not None
    app.writer.flush()  # the answer did not wait for the commit that shares it
    with app.database.read() as uow:
        assert uow.ocsp_responses.get("issuing", format(serial, "x"), "sha256") is not None  # shared through the DB
    app.certificates.revoke(
        admin, RevokeRequest("issuing", SerialNumber(serial), RevocationReason.cessationOfOperation)
    )
    after = pyca_ocsp.load_der_ocsp_response(app.ocsp.answer(request).der)
    assert after.certificate_status is pyca_ocsp.OCSPCertStatus.REVOKED
    # another node (its own caches, same database) sees the re-signed response
    other = wiring.build(settings, b"correct horse battery staple", clock)  # type: ignore[arg-type]
    try:
        answer = pyca_ocsp.load_der_ocsp_response(other.ocsp.answer(request).der)
        assert answer.certificate_status is pyca_ocsp.OCSPCertStatus.REVOKED
    finally:
        other.close()


def test_other_nodes_forget_cached_answers(
    app: wiring.Application, admin: Principal, ca_cert: x509.Certificate, settings: object, clock: FixedClock
) -> None:
    serial = issue(app, admin)
    request = request_der([make_cert_id(ca_cert, serial)])
    other = wiring.build(settings, b"correct horse battery staple", clock)  # type: ignore[arg-type]
    try:
        assert (
            pyca_ocsp.load_der_ocsp_response(other.ocsp.answer(request).der).certificate_status
            is pyca_ocsp.OCSPCertStatus.GOOD
        )
        app.certificates.revoke(admin, RevokeRequest("issuing", SerialNumber(serial), RevocationReason.keyCompromise))
        time.sleep(0.06)  # the other node polls revocation events every 50 ms
        answer = pyca_ocsp.load_der_ocsp_response(other.ocsp.answer(request).der)
        assert answer.certificate_status is pyca_ocsp.OCSPCertStatus.REVOKED
    finally:
        other.close()


def test_stale_responses_are_resigned_and_responders_rotate(
    app: wiring.Application, admin: Principal, ca_cert: x509.Certificate, clock: FixedClock
) -> None:
    serial = issue(app, admin)
    request = request_der([make_cert_id(ca_cert, serial)])
    first = pyca_ocsp.load_der_ocsp_response(app.ocsp.answer(request).der)
    app.writer.flush()
    clock.advance(dt.timedelta(hours=13))  # past half of the one-day validity
    assert app.ocsp.refresh_stale() == 1
    second = pyca_ocsp.load_der_ocsp_response(app.ocsp.answer(request).der)
    assert second.this_update_utc > first.this_update_utc
    clock.advance(dt.timedelta(days=21))  # the 30-day responder certificate has less than a third left
    app.maintenance.run_once()
    third = pyca_ocsp.load_der_ocsp_response(
        app.ocsp.answer(request_der([make_cert_id(ca_cert, serial)], nonce=b"x" * 8)).der
    )
    assert third.certificates[0].serial_number != first.certificates[0].serial_number


def test_signing_with_the_ca_key(app: wiring.Application, admin: Principal, ca_cert: x509.Certificate) -> None:
    app.revocation_settings.configure(admin, RevocationSettings(ca_name="issuing", ocsp_signing=OcspSigning.CA))
    response = ask(app, ca_cert, [issue(app, admin)], nonce=b"q" * 10)
    assert response.certificates == []
    key = ca_cert.public_key()
    key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(response.signature_hash_algorithm))  # type: ignore[call-arg, arg-type]


def test_garbage_is_malformed(app: wiring.Application, issuing: CertificateAuthorityRecord) -> None:
    for garbage in (b"", b"\x30\x03\x02\x01", b"hello", b"\x30" * 100):
        assert (
            pyca_ocsp.load_der_ocsp_response(app.ocsp.answer(garbage).der).response_status
            is pyca_ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        )


def test_responses_are_signed_before_anyone_asks(
    app: wiring.Application, admin: Principal, ca_cert: x509.Certificate
) -> None:
    serials = [issue(app, admin) for _ in range(3)]
    report = app.maintenance.run_once()
    assert report.ocsp_presigned >= 3  # the three leaves (and the delegated responder certificate itself)
    with app.database.read() as uow:
        stored = {r.serial for s in serials for r in uow.ocsp_responses.for_serial("issuing", format(s, "x"))}
    assert stored == {format(s, "x") for s in serials}
    assert app.maintenance.run_once().ocsp_presigned == 0  # nothing new
    answer = pyca_ocsp.load_der_ocsp_response(app.ocsp.answer(request_der([make_cert_id(ca_cert, serials[0])])).der)
    assert answer.certificate_status is pyca_ocsp.OCSPCertStatus.GOOD
