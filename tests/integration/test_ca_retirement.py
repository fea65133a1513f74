"""Retiring a CA: it issues nothing more, keeps publishing CRLs and answering OCSP (RFC 5280 §3.3),
and retiring is a sensitive operation (dual control)."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509 import ocsp as pyca_ocsp

from chancery import wiring
from chancery.domain.approvals import OperationState
from chancery.domain.principals import Grant, Principal, Role
from chancery.domain.queries import AuditFilter
from chancery.domain.records import CAStatus, CertificateAuthorityRecord
from chancery.domain.revocation import RevocationReason
from chancery.domain.revocation_records import OcspSigning, RevocationSettings
from chancery.domain.serials import SerialNumber
from chancery.errors import ApprovalRequired, Conflict, Forbidden
from chancery.pki.ocsp import make_cert_id
from chancery.services.approvals import APPROVALS_POLICY
from chancery.services.authority.issuance import IssueFromCsr
from chancery.services.certificates import RevokeRequest
from tests.support.csrs import make_csr
from tests.unit.pki.test_ocsp import request_der

pytestmark = pytest.mark.integration


def issue(app: wiring.Application, admin: Principal) -> int:
    request = IssueFromCsr("issuing", "tls-server", make_csr()[1])
    return app.issuance.issue_from_csr(admin, request).certificate.serial_number


def ocsp_status(app: wiring.Application, ca: CertificateAuthorityRecord, serial: int) -> pyca_ocsp.OCSPCertStatus:
    certificate = x509.load_der_x509_certificate(ca.certificate)  # type: ignore[arg-type]
    response = pyca_ocsp.load_der_ocsp_response(app.ocsp.answer(request_der([make_cert_id(certificate, serial)])).der)
    assert response.response_status is pyca_ocsp.OCSPResponseStatus.SUCCESSFUL
    return response.certificate_status


@pytest.mark.parametrize("signing", [OcspSigning.CA, OcspSigning.RESPONDER])
def test_a_retired_ca_issues_nothing_but_still_answers_for_what_it_issued(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord, signing: OcspSigning
) -> None:
    app.revocation_settings.configure(admin, RevocationSettings(ca_name="issuing", ocsp_signing=signing))
    good, bad = issue(app, admin), issue(app, admin)

    retired = app.hierarchy.retire(admin, "issuing", "replaced by issuing-2")

    assert retired.status is CAStatus.RETIRED
    assert app.hierarchy.get(admin, "issuing").status is CAStatus.RETIRED
    with pytest.raises(Conflict, match="retired"):
        issue(app, admin)
    app.certificates.revoke(admin, RevokeRequest("issuing", SerialNumber(bad), RevocationReason.superseded))
    published = app.crls.publish(admin, "issuing")
    crl = x509.load_der_x509_crl(published.full.der)
    assert [entry.serial_number for entry in crl] == [bad]
    assert crl.is_signature_valid(x509.load_der_x509_certificate(issuing.certificate).public_key())  # type: ignore[arg-type]
    assert ocsp_status(app, issuing, good) is pyca_ocsp.OCSPCertStatus.GOOD
    assert ocsp_status(app, issuing, bad) is pyca_ocsp.OCSPCertStatus.REVOKED
    (entry,) = app.audit.search(admin, AuditFilter(action="ca.retired"), 10)
    assert (entry.ca, entry.actor) == ("issuing", admin.name)
    assert entry.details["reason"] == "replaced by issuing-2"


def test_retiring_twice_or_a_pending_ca_is_a_conflict(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    app.hierarchy.retire(admin, "issuing")
    with pytest.raises(Conflict, match="only an active CA"):
        app.hierarchy.retire(admin, "issuing")


def test_only_ca_managers_of_that_ca_retire_it(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    officer = Principal("olga", grants=frozenset({Grant(Role.RA_OFFICER, ca="issuing")}))
    elsewhere = Principal("oscar", grants=frozenset({Grant(Role.CA_OPERATOR, ca="root")}))
    for principal in (officer, elsewhere, Principal("audrey", frozenset({Role.AUDITOR}))):
        with pytest.raises(Forbidden):
            app.hierarchy.retire(principal, "issuing")
    assert app.hierarchy.get(admin, "issuing").status is CAStatus.ACTIVE


def test_retiring_needs_a_second_administrator_under_dual_control(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    app.policies.set(admin, APPROVALS_POLICY, 1)
    alice = Principal("alice", frozenset({Role.ADMINISTRATOR}))
    with pytest.raises(ApprovalRequired) as raised:
        app.hierarchy.retire(alice, "issuing", "end of life")
    assert app.hierarchy.get(admin, "issuing").status is CAStatus.ACTIVE
    issue(app, admin)  # still issuing while it waits
    done = app.dual_control.approve(
        Principal("bob", frozenset({Role.ADMINISTRATOR})), raised.value.sub_errors[0].detail
    )
    assert done.state is OperationState.EXECUTED
    assert app.hierarchy.get(admin, "issuing").status is CAStatus.RETIRED
