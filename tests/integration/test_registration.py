"""The registration authority on both databases: submission, M-of-N approval by distinct people,
denial, cancellation, expiry, server-side key generation, renewal and revocation requests."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from cryptography import x509

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.exports import ExportFormat
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Principal, Role
from chancery.domain.queries import AuditFilter
from chancery.domain.records import CertificateAuthorityRecord, CertificateState
from chancery.domain.registration import ANONYMOUS, ProfilePolicy, RequestState
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.errors import Conflict, Forbidden, Malformed, NotFound, Unauthorized
from chancery.services.identity.accounts import NewGrant
from chancery.services.registration.authorities import NewRa
from chancery.services.registration.decisions import Decision
from chancery.services.registration.delivery import Pickup
from chancery.services.registration.intake import CertificateSubmission, CsrSubmission, KeygenSubmission
from tests.support.csrs import make_csr

pytestmark = pytest.mark.integration

OFFICERS = ("olga", "oscar", "otto")


@pytest.fixture
def ra(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord) -> str:
    """RA ``web`` on CA issuing: tls-server needs 2 approvals and takes anonymous requests; tls-client
    needs none. Officers olga, oscar and otto are RA officers on it; requester rita may submit."""
    policy = ProfilePolicy(approvals=2, allow_anonymous=True)
    app.ras.create(admin, NewRa("web", "issuing", ("tls-server",), policy, revocation_approvals=1))
    app.ras.set_policy(admin, "web", "tls-client", ProfilePolicy(approvals=0))
    for name in (*OFFICERS, "rita"):
        app.accounts.add_user(admin, name)
    for name in OFFICERS:
        app.accounts.grant(admin, NewGrant(Role.RA_OFFICER, user=name, ra="web"))
    app.accounts.grant(admin, NewGrant(Role.REQUESTER, user="rita", ra="web"))
    return "web"


def person(app: wiring.Application, name: str) -> Principal:
    """``name`` as a logged-in user holds its roles now (what a session or token resolves to)."""
    return app.tokens.authenticate(app.tokens.create_for_user(Principal(name, kind="system", roles=frozenset({Role.ADMINISTRATOR})), name, "t").token)


def submit(app: wiring.Application, principal: Principal | None = None, profile: str = "tls-server") -> str:
    _, csr = make_csr("www.example.com", ("DNS:www.example.com",))
    return app.ra_intake.submit_csr(principal, CsrSubmission("web", profile, csr)).request.request_id


def test_two_distinct_officers_are_needed_and_the_second_approval_issues(app: wiring.Application, ra: str) -> None:
    request_id = submit(app)
    assert app.ra_delivery.status(request_id).requester == ANONYMOUS
    first = app.ra_decisions.approve(person(app, "olga"), Decision(request_id, "looks right"))
    assert first.state is RequestState.PENDING
    with pytest.raises(Conflict, match="already approved"):
        app.ra_decisions.approve(person(app, "olga"), Decision(request_id))
    second = app.ra_decisions.approve(person(app, "oscar"), Decision(request_id))
    assert second.state is RequestState.ISSUED
    assert [a.approver for a in second.approvals] == ["olga", "oscar"]
    pem = app.ra_delivery.certificate(request_id, ExportFormat.PEM)
    certs = x509.load_pem_x509_certificates(pem)
    assert len(certs) == 3  # the certificate, the issuing CA, the root
    assert format(certs[0].serial_number, "x") == SerialNumber.from_hex(second.serial or "").hex


def test_concurrent_last_approvals_issue_one_certificate(app: wiring.Application, ra: str) -> None:
    request_id = submit(app)
    app.ra_decisions.approve(person(app, "olga"), Decision(request_id))
    officers = [person(app, "oscar"), person(app, "otto")]
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def approve(officer: Principal) -> None:
        barrier.wait()
        try:
            outcomes.append(app.ra_decisions.approve(officer, Decision(request_id)).state)
        except Conflict as error:
            outcomes.append(error)

    threads = [threading.Thread(target=approve, args=(officer,)) for officer in officers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert RequestState.ISSUED in outcomes
    assert sum(1 for o in outcomes if isinstance(o, Conflict)) == 1
    auditor = Principal("a", frozenset({Role.AUDITOR}))
    issued = [e for e in app.audit.search(auditor, AuditFilter(action="certificate.issued")) if e.actor == "ra:web"]
    assert len(issued) == 1
