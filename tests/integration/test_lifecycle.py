"""After issuance: revoke, hold and release, search, paginate, export."""

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.exports import ExportFormat
from chancery.domain.keytypes import KeyType
from chancery.domain.names import CAName
from chancery.domain.principals import Principal, Role
from chancery.domain.queries import CertificateFilter, PageRequest
from chancery.domain.records import CertificateAuthorityRecord, CertificateStatus
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.errors import AlreadyRevoked, BadRevocationReason, Conflict, Forbidden, Malformed, NotFound
from chancery.pki.encoding import load_certificates
from chancery.services.authority.cycle import Issued
from chancery.services.authority.issuance import IssueFromCsr, IssueWithNewKey
from chancery.services.certificates import ExportRequest, RevokeRequest
from tests.support.csrs import make_csr

pytestmark = pytest.mark.integration


def issue(app: wiring.Application, admin: Principal, cn: str = "www.example.com", days: int | None = None) -> Issued:
    _, csr = make_csr(cn=cn, sans=(f"DNS:{cn}",))
    return app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-server", csr, validity_days=days))


def test_revoke_then_revoke_again(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord, clock: FixedClock
) -> None:
    serial = issue(app, admin).record.serial
    compromised_at = clock.now() - dt.timedelta(days=2)
    record = app.certificates.revoke(
        admin, RevokeRequest("issuing", serial, RevocationReason.keyCompromise, compromised_at)
    )
    assert record.status(clock.now()) is CertificateStatus.REVOKED
    stored = app.certificates.get(admin, "issuing", serial)
    assert stored.revocation is not None
    assert (stored.revocation.reason, stored.revocation.revoked_at, stored.revocation.invalidity_date) == (
        RevocationReason.keyCompromise,
        clock.now(),
        compromised_at,
    )
    with pytest.raises(AlreadyRevoked):
        app.certificates.revoke(admin, RevokeRequest("issuing", serial, RevocationReason.superseded))
    assert app.certificates.get(admin, "issuing", serial).revocation.reason is RevocationReason.keyCompromise  # type: ignore[union-attr]


def test_hold_release_and_hold_to_final(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord, clock: FixedClock
) -> None:
    serial = issue(app, admin).record.serial
    held = app.certificates.revoke(admin, RevokeRequest("issuing", serial, RevocationReason.certificateHold))
    assert held.status(clock.now()) is CertificateStatus.ON_HOLD
    with pytest.raises(AlreadyRevoked, match="on hold"):
        app.certificates.revoke(admin, RevokeRequest("issuing", serial, RevocationReason.certificateHold))
    released = app.certificates.release_hold(admin, "issuing", serial)
    assert released.status(clock.now()) is CertificateStatus.VALID
    assert app.certificates.get(admin, "issuing", serial).revocation is None
    with pytest.raises(Conflict, match="not on hold"):
        app.certificates.release_hold(admin, "issuing", serial)
    app.certificates.revoke(admin, RevokeRequest("issuing", serial, RevocationReason.certificateHold))
    final = app.certificates.revoke(admin, RevokeRequest("issuing", serial, RevocationReason.keyCompromise))
    assert final.status(clock.now()) is CertificateStatus.REVOKED
    with pytest.raises(Conflict):
        app.certificates.release_hold(admin, "issuing", serial)


@pytest.mark.parametrize(
    ("request_factory", "error"),
    [
        pytest.param(lambda s: RevokeRequest("issuing", SerialNumber(12345)), NotFound, id="fail/unknown-serial"),
        pytest.param(lambda s: RevokeRequest("nope", s), NotFound, id="fail/unknown-ca"),
        pytest.param(
            lambda s: RevokeRequest("issuing", s, RevocationReason.removeFromCRL),
            BadRevocationReason,
            id="fail/remove-from-crl",
        ),
        pytest.param(
            lambda s: RevokeRequest("issuing", s, invalidity_date=dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)),
            Malformed,
            id="fail/future-invalidity",
        ),
    ],
)
def test_bad_revocations_change_nothing(
    app: wiring.Application,
    admin: Principal,
    issuing: CertificateAuthorityRecord,
    request_factory: object,
    error: type[Exception],
) -> None:
    serial = issue(app, admin).record.serial
    with pytest.raises(error):
        app.certificates.revoke(admin, request_factory(serial))  # type: ignore[operator]
    assert app.certificates.get(admin, "issuing", serial).revocation is None


def test_revocation_needs_the_permission(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    serial = issue(app, admin).record.serial
    with pytest.raises(Forbidden):
        app.certificates.revoke(Principal("aud", frozenset({Role.AUDITOR})), RevokeRequest("issuing", serial))


def test_search_by_status_subject_san_and_expiry(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord, clock: FixedClock
) -> None:
    soon = issue(app, admin, "soon.example.com", days=10)
    later = issue(app, admin, "later.example.org", days=150)
    revoked = issue(app, admin, "gone.example.com", days=150)
    app.certificates.revoke(admin, RevokeRequest("issuing", revoked.record.serial, RevocationReason.superseded))

    def serials(**kw: object) -> set[SerialNumber]:
        query = CertificateFilter(ca_name=CAName("issuing"), **kw)  # type: ignore[arg-type]
        return {r.serial for r in app.certificates.search(admin, query, PageRequest()).items}

    assert serials(status=CertificateStatus.VALID) == {soon.record.serial, later.record.serial}
    assert serials(status=CertificateStatus.REVOKED) == {revoked.record.serial}
    assert serials(subject_contains="later") == {later.record.serial}
    assert serials(san_contains="example.com") == {soon.record.serial, revoked.record.serial}
    assert serials(san_contains="%") == set()  # LIKE wildcards are literal
    assert serials(expiring_within=dt.timedelta(days=30)) == {soon.record.serial}
    clock.advance(dt.timedelta(days=11))
    assert serials(status=CertificateStatus.EXPIRED) == {soon.record.serial}
    assert serials(expiring_within=dt.timedelta(days=30)) == set()
    with pytest.raises(NotFound):
        app.certificates.search(admin, CertificateFilter(ca_name=CAName("nope")), PageRequest())


def test_cursor_pagination_walks_everything_once(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    issued = {issue(app, admin, f"h{i}.example.com").record.serial for i in range(7)}
    seen: list[SerialNumber] = []
    cursor = None
    query = CertificateFilter(ca_name=CAName("issuing"))
    while True:
        page = app.certificates.search(admin, query, PageRequest(limit=3, cursor=cursor))
        seen.extend(r.serial for r in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 7 and set(seen) == issued


def test_exports(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord) -> None:
    issued = issue(app, admin)
    serial = issued.record.serial

    def export(fmt: ExportFormat, **kw: object) -> bytes:
        return app.certificates.export(admin, ExportRequest("issuing", serial, fmt, **kw))  # type: ignore[arg-type]

    assert x509.load_pem_x509_certificate(export(ExportFormat.PEM)) == issued.certificate
    assert len(load_certificates(export(ExportFormat.PEM, include_chain=True))) == 3
    assert x509.load_der_x509_certificate(export(ExportFormat.DER)) == issued.certificate
    assert set(load_certificates(export(ExportFormat.P7B))) == {issued.certificate, *issued.chain}  # a SET OF
    with pytest.raises(Conflict, match="requester"):
        export(ExportFormat.P12, password="long enough")
    with pytest.raises(Malformed):
        export(ExportFormat.DER, include_chain=True)


def test_pkcs12_export_of_a_generated_key(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    result = app.issuance.issue_with_new_key(
        admin, IssueWithNewKey("issuing", "tls-client", "CN=bob", KeyType.EC_P384, "first password")
    )
    request = ExportRequest("issuing", result.issued.record.serial, ExportFormat.P12, password="second password")
    loaded = pkcs12.load_pkcs12(app.certificates.export(admin, request), b"second password")
    assert loaded.key is not None and loaded.key.public_key() == result.issued.certificate.public_key()
    with pytest.raises(Malformed, match="password"):
        app.certificates.export(
            admin, ExportRequest("issuing", result.issued.record.serial, ExportFormat.P12, password="short")
        )
    with pytest.raises(Forbidden):
        app.certificates.export(Principal("aud", frozenset({Role.AUDITOR})), request)
