"""CRL publication against a real database: full, delta, partitions, numbering, freshness."""

import datetime as dt

import pytest
from cryptography import x509

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.principals import Principal
from chancery.domain.records import CertificateAuthorityRecord
from chancery.domain.revocation import RevocationReason
from chancery.domain.revocation_records import CrlScope, RevocationSettings
from chancery.domain.serials import SerialNumber
from chancery.errors import Conflict, NotFound
from chancery.services.authority.issuance import IssueFromCsr
from chancery.services.certificates import RevokeRequest
from tests.support.csrs import make_csr
from tests.unit.pki.test_crl import crl_findings

pytestmark = pytest.mark.integration


def issue(app: wiring.Application, admin: Principal, n: int = 1) -> list[int]:
    return [
        app.issuance.issue_from_csr(
            admin, IssueFromCsr("issuing", "tls-server", make_csr()[1])
        ).certificate.serial_number
        for _ in range(n)
    ]


def revoke(app: wiring.Application, admin: Principal, serial: int, reason: RevocationReason) -> None:
    app.certificates.revoke(admin, RevokeRequest("issuing", SerialNumber(serial), reason))


def serials_in(der: bytes) -> set[int]:
    return {entry.serial_number for entry in x509.load_der_x509_crl(der)}


def test_full_and_delta(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord, clock: FixedClock
) -> None:
    good, bad, held = issue(app, admin, 3)
    revoke(app, admin, bad, RevocationReason.keyCompromise)
    published = app.crls.publish(admin, "issuing")
    assert serials_in(published.full.der) == {bad}
    assert serials_in(published.delta.der) == set()
    assert published.delta.base_crl_number == published.full.crl_number < published.delta.crl_number
    full = x509.load_der_x509_crl(published.full.der)
    assert full.is_signature_valid(x509.load_der_x509_certificate(issuing.certificate).public_key())  # type: ignore[arg-type]
    assert crl_findings(published.full.der) == [] and crl_findings(published.delta.der) == []

    clock.advance(dt.timedelta(minutes=5))
    revoke(app, admin, held, RevocationReason.certificateHold)
    delta = app.crls.current("issuing", CrlScope.DELTA)
    assert serials_in(delta.der) == {held}
    assert delta.base_crl_number == published.full.crl_number
    app.certificates.release_hold(admin, "issuing", SerialNumber(held))
    clock.advance(dt.timedelta(minutes=5))
    delta = app.crls.current("issuing", CrlScope.DELTA)
    reasons = {
        e.serial_number: e.extensions.get_extension_for_class(x509.CRLReason).value.reason
        for e in x509.load_der_x509_crl(delta.der)
    }
    assert reasons == {held: x509.ReasonFlags.remove_from_crl}
    # the full CRL served next reflects the current state: bad revoked, held released
    assert serials_in(app.crls.current("issuing", CrlScope.FULL).der) == {bad}
    assert good not in serials_in(app.crls.current("issuing", CrlScope.FULL).der)


def test_crl_numbers_increase_across_restarts(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord, settings: object, clock: FixedClock
) -> None:
    first = app.crls.publish(admin, "issuing")
    again = wiring.build(settings, b"correct horse battery staple", clock)  # type: ignore[arg-type]
    try:
        second = again.crls.publish(admin, "issuing")
    finally:
        again.close()
    numbers = [first.full.crl_number, first.delta.crl_number, second.full.crl_number, second.delta.crl_number]
    assert numbers == sorted(set(numbers))


def test_partitions(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord) -> None:
    app.revocation_settings.configure(admin, RevocationSettings(ca_name="issuing", partitions=4))
    with pytest.raises(Conflict):
        app.revocation_settings.configure(admin, RevocationSettings(ca_name="issuing", partitions=2))
    serials = issue(app, admin, 12)
    by_partition: dict[int, set[int]] = {}
    for serial in serials:
        record = app.certificates.get(admin, "issuing", SerialNumber(serial))
        assert record.crl_partition == serial % 4
        cert = x509.load_der_x509_certificate(record.der)  # type: ignore[arg-type]
        point = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value[0].full_name[0].value
        assert point.endswith(f"/crl/issuing/{serial % 4}.crl")
        by_partition.setdefault(serial % 4, set()).add(serial)
    for serial in serials:
        revoke(app, admin, serial, RevocationReason.superseded)
    for partition, members in by_partition.items():
        record = app.crls.current("issuing", CrlScope.PARTITION, partition)
        assert serials_in(record.der) == members
        idp = x509.load_der_x509_crl(record.der).extensions.get_extension_for_class(x509.IssuingDistributionPoint)
        assert idp.value.full_name[0].value.endswith(f"/crl/issuing/{partition}.crl")
        assert crl_findings(record.der) == []
    assert serials_in(app.crls.current("issuing", CrlScope.FULL).der) == set(serials)
    with pytest.raises(NotFound):
        app.crls.current("issuing", CrlScope.PARTITION, 4)


def test_expired_entries_leave_after_one_more_period(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord, clock: FixedClock
) -> None:
    serial = app.issuance.issue_from_csr(
        admin, IssueFromCsr("issuing", "tls-server", make_csr()[1], validity_days=2)
    ).certificate.serial_number
    app.certificates.revoke(admin, RevokeRequest("issuing", SerialNumber(serial), RevocationReason.keyCompromise))
    assert serial in serials_in(app.crls.publish(admin, "issuing").full.der)
    clock.advance(dt.timedelta(days=3))  # expired, but not yet on a CRL issued after expiry... until 7 more days
    assert serial in serials_in(app.crls.publish(admin, "issuing").full.der)
    clock.advance(dt.timedelta(days=8))
    assert serial not in serials_in(app.crls.publish(admin, "issuing").full.der)


def test_unknown_ca_and_maintenance(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord, clock: FixedClock
) -> None:
    with pytest.raises(NotFound):
        app.crls.current("nope", CrlScope.FULL)
    report = app.maintenance.run_once()
    assert report.cas == 2 and report.failures == ()
    first = app.crls.current("issuing", CrlScope.FULL)
    clock.advance(dt.timedelta(days=4))  # past half of the 7-day validity
    app.maintenance.run_once()
    assert app.crls.current("issuing", CrlScope.FULL).crl_number > first.crl_number
