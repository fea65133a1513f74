"""The registration authority on both databases: submission, M-of-N approval by distinct people,
denial, cancellation, expiry, server-side key generation, renewal and revocation requests."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

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
AUDITOR = Principal("audrey", frozenset({Role.AUDITOR}))


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


_TOKENS = itertools.count()


def person(app: wiring.Application, name: str) -> Principal:
    """``name`` acting through one of its tokens: with the roles it holds now."""
    operator = Principal("setup", frozenset({Role.ADMINISTRATOR}), kind="cli")
    token = app.tokens.create_for_user(operator, name, f"t{next(_TOKENS)}")
    return app.tokens.authenticate(token.token)


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
    issued = [e for e in app.audit.search(AUDITOR, AuditFilter(action="certificate.issued")) if e.actor == "ra:web"]
    assert len(issued) == 1


def test_the_requester_never_approves_their_own_request(app: wiring.Application, ra: str) -> None:
    olga = person(app, "olga")
    request_id = submit(app, olga)
    with pytest.raises(Forbidden, match="submitted request"):
        app.ra_decisions.approve(olga, Decision(request_id))
    assert app.ra_delivery.status(request_id).approvals == ()
    refused = app.audit.search(AUDITOR, AuditFilter(action="request.approve-refused"))
    assert [e.actor for e in refused] == ["olga"]


@pytest.mark.parametrize(
    "who",
    [
        pytest.param(Principal("svc", frozenset({Role.ADMINISTRATOR}), kind="service"), id="fail/service-token"),
        pytest.param(Principal("cli:root", frozenset({Role.ADMINISTRATOR}), kind="cli"), id="fail/host-operator"),
        pytest.param(Principal("rita", kind="token"), id="fail/requester-role-only"),
    ],
)
def test_approvals_come_from_officers_who_are_people(app: wiring.Application, ra: str, who: Principal) -> None:
    request_id = submit(app)
    with pytest.raises(Forbidden):
        app.ra_decisions.approve(who, Decision(request_id))
    assert app.ra_delivery.status(request_id).state is RequestState.PENDING


def test_an_officer_of_another_ra_cannot_approve(app: wiring.Application, admin: Principal, ra: str) -> None:
    app.ras.create(admin, NewRa("vpn", "issuing", ("tls-client",), ProfilePolicy(approvals=1)))
    app.accounts.add_user(admin, "vera")
    app.accounts.grant(admin, NewGrant(Role.RA_OFFICER, user="vera", ra="vpn"))
    request_id = submit(app)
    with pytest.raises(Forbidden, match="may not approve"):
        app.ra_decisions.approve(person(app, "vera"), Decision(request_id))
    assert app.ra_decisions.queue(person(app, "vera")) == ()
    assert [r.request_id for r in app.ra_decisions.queue(person(app, "olga"))] == [request_id]


def test_an_approval_stops_counting_when_its_approver_loses_the_role(
    app: wiring.Application, admin: Principal, ra: str
) -> None:
    request_id = submit(app)
    app.ra_decisions.approve(person(app, "olga"), Decision(request_id))
    grant = next(g for g in app.accounts.list_grants(admin) if g.grantee == "olga")
    app.accounts.revoke_grant(admin, grant.grant_id)
    still = app.ra_decisions.approve(person(app, "oscar"), Decision(request_id))
    assert still.state is RequestState.PENDING  # olga's approval no longer counts
    done = app.ra_decisions.approve(person(app, "otto"), Decision(request_id))
    assert done.state is RequestState.ISSUED


def test_a_disabled_approver_does_not_count(app: wiring.Application, admin: Principal, ra: str) -> None:
    request_id = submit(app)
    app.ra_decisions.approve(person(app, "olga"), Decision(request_id))
    app.accounts.set_disabled(admin, "olga", True)
    assert app.ra_decisions.approve(person(app, "oscar"), Decision(request_id)).state is RequestState.PENDING


def test_denial_needs_a_reason_and_ends_the_request(app: wiring.Application, ra: str) -> None:
    request_id = submit(app)
    with pytest.raises(Malformed, match="reason"):
        app.ra_decisions.deny(person(app, "olga"), Decision(request_id, "  "))
    denied = app.ra_decisions.deny(person(app, "olga"), Decision(request_id, "not our domain"))
    assert (denied.state, denied.decided_by, denied.reason) == (RequestState.DENIED, "olga", "not our domain")
    with pytest.raises(Conflict, match="denied"):
        app.ra_decisions.approve(person(app, "oscar"), Decision(request_id))
    with pytest.raises(Conflict, match="denied; nothing to download"):
        app.ra_delivery.certificate(request_id, ExportFormat.PEM)


def test_cancellation_by_the_requester_an_officer_or_nobody_else(
    app: wiring.Application, admin: Principal, ra: str
) -> None:
    app.accounts.add_user(admin, "ursula")
    rita = person(app, "rita")
    own = submit(app, rita)
    with pytest.raises(Forbidden, match="only the requester or an officer"):
        app.ra_decisions.cancel(person(app, "ursula"), Decision(own))
    assert app.ra_decisions.cancel(rita, Decision(own, "typo")).state is RequestState.CANCELLED
    anonymous = submit(app)
    assert app.ra_decisions.cancel(None, Decision(anonymous)).state is RequestState.CANCELLED
    with pytest.raises(Forbidden):
        app.ra_decisions.cancel(None, Decision(submit(app, rita)))  # not anonymous: needs rita
    assert app.ra_decisions.cancel(person(app, "otto"), Decision(submit(app, rita))).decided_by == "otto"


def test_pending_requests_expire(app: wiring.Application, clock: FixedClock, ra: str) -> None:
    request_id = submit(app)
    swept = submit(app)
    clock.advance(dt.timedelta(days=7, seconds=1))
    with pytest.raises(Conflict, match="expired"):
        app.ra_decisions.approve(person(app, "olga"), Decision(request_id))
    assert app.ra_delivery.status(request_id).state is RequestState.EXPIRED
    assert app.ra_decisions.expire_due() == 1
    assert app.ra_delivery.status(swept).state is RequestState.EXPIRED
    assert app.ra_decisions.expire_due() == 0


def test_anonymous_submission_only_where_the_policy_allows(app: wiring.Application, ra: str) -> None:
    with pytest.raises(Unauthorized, match="anonymous"):
        submit(app, None, profile="tls-client")
    with pytest.raises(NotFound, match="does not take profile"):
        submit(app, None, profile="code-signing")
    issued = app.ra_delivery.status(submit(app, person(app, "rita"), profile="tls-client"))
    assert issued.state is RequestState.ISSUED and issued.approvals == ()  # 0 approvals: issued at once


def test_request_ids_are_short_unguessable_and_forgiving(app: wiring.Application, ra: str) -> None:
    request_id = submit(app)
    assert len(request_id) == 19 and request_id.count("-") == 3
    typed = request_id.lower().replace("-", " ").replace("0", "o")
    assert app.ra_delivery.status(typed).request_id == request_id
    for guess in ("0000-0000-0000-0000", "not an id", "x" * 5000, ""):
        with pytest.raises(NotFound, match="no such request"):
            app.ra_delivery.status(guess)


def test_server_side_key_generation_hands_the_key_over_once(app: wiring.Application, ra: str) -> None:
    rita = person(app, "rita")
    submitted = app.ra_intake.submit_keygen(
        rita, KeygenSubmission("web", "tls-client", "CN=rita,O=Example", KeyType.EC_P256)
    )
    assert submitted.pickup_token and submitted.request.state is RequestState.ISSUED
    request_id = submitted.request.request_id
    with pytest.raises(Forbidden, match="pickup token"):
        app.ra_delivery.pickup_pkcs12(Pickup(request_id, "wrong", "correct horse"))
    with pytest.raises(Malformed, match="password"):
        app.ra_delivery.pickup_pkcs12(Pickup(request_id, submitted.pickup_token, "short"))
    blob = app.ra_delivery.pickup_pkcs12(Pickup(request_id, submitted.pickup_token, "correct horse"))
    loaded = pkcs12.load_pkcs12(blob, b"correct horse")
    assert loaded.key is not None and loaded.cert is not None
    assert loaded.cert.certificate.subject.rfc4514_string() == "CN=rita,O=Example"
    with pytest.raises(Conflict, match="collected already"):
        app.ra_delivery.pickup_pkcs12(Pickup(request_id, submitted.pickup_token, "correct horse"))
    key_id = app.ra_delivery.status(request_id).key_id
    assert key_id is not None
    with pytest.raises(NotFound):
        app.keys.load(key_id)  # destroyed as it was handed over


def test_renewal_by_the_certificates_requester(app: wiring.Application, admin: Principal, ra: str) -> None:
    rita = person(app, "rita")
    original = app.ra_delivery.status(submit(app, rita, profile="tls-client"))
    assert original.serial is not None
    app.accounts.add_user(admin, "ursula")
    with pytest.raises(Forbidden, match="did not request"):
        app.ra_intake.submit_renewal(person(app, "ursula"), CertificateSubmission("web", original.serial))
    renewed = app.ra_intake.submit_renewal(rita, CertificateSubmission("web", original.serial)).request
    assert renewed.state is RequestState.ISSUED and renewed.serial not in (None, original.serial)
    assert renewed.target_serial == original.serial


def test_revocation_requests_follow_the_ras_revocation_policy(app: wiring.Application, ra: str) -> None:
    rita = person(app, "rita")
    original = app.ra_delivery.status(submit(app, rita, profile="tls-client"))
    assert original.serial is not None
    submission = CertificateSubmission("web", original.serial, RevocationReason.keyCompromise)
    pending = app.ra_intake.submit_revocation(rita, submission).request
    assert pending.state is RequestState.PENDING and pending.approvals_required == 1
    done = app.ra_decisions.approve(person(app, "olga"), Decision(pending.request_id))
    assert done.state is RequestState.REVOKED
    record = app.certificates.get(AUDITOR, "issuing", SerialNumber.from_hex(original.serial))
    assert record.state is CertificateState.REVOKED
    assert record.revocation is not None and record.revocation.reason is RevocationReason.keyCompromise


def test_a_request_the_ca_refuses_ends_failed_with_the_reason(
    app: wiring.Application, admin: Principal, ra: str
) -> None:
    request_id = submit(app)
    app.ra_decisions.approve(person(app, "olga"), Decision(request_id))
    app.hierarchy.retire(admin, "issuing", "superseded")
    failed = app.ra_decisions.approve(person(app, "oscar"), Decision(request_id))
    assert failed.state is RequestState.FAILED and "issuing" in failed.error
    assert failed.serial is None


def test_every_step_is_audited_with_who_and_why(app: wiring.Application, ra: str) -> None:
    request_id = submit(app)
    app.ra_decisions.approve(person(app, "olga"), Decision(request_id, "checked the domain"))
    app.ra_decisions.approve(person(app, "oscar"), Decision(request_id))
    trail = [e for e in app.audit.search(AUDITOR, AuditFilter()) if e.target == request_id]
    assert [(e.action, e.actor) for e in sorted(trail, key=lambda e: e.sequence)] == [
        ("request.submitted", ANONYMOUS),
        ("request.approved", "olga"),
        ("request.approved", "oscar"),
        ("request.issued", "ra:web"),
    ]
    first = next(e for e in trail if e.actor == "olga")
    assert first.details["comment"] == "checked the domain"


def test_ra_creation_checks_its_ca_and_profiles(app: wiring.Application, admin: Principal, ra: str) -> None:
    with pytest.raises(NotFound, match="no CA"):
        app.ras.create(admin, NewRa("x", "nope", ("tls-server",)))
    with pytest.raises(NotFound, match="no profile"):
        app.ras.create(admin, NewRa("x", "issuing", ("nope",)))
    with pytest.raises(Malformed, match="invalid RA name"):
        app.ras.create(admin, NewRa("Bad Name", "issuing", ("tls-server",)))
    with pytest.raises(Conflict, match="exists"):
        app.ras.create(admin, NewRa("web", "issuing", ("tls-server",)))
    with pytest.raises(Forbidden):
        app.ras.create(person(app, "olga"), NewRa("x", "issuing", ("tls-server",)))
    assert [r.name for r in app.ras.list()] == ["web"]


def test_a_policy_can_require_the_approvers_group(app: wiring.Application, admin: Principal, ra: str) -> None:
    app.accounts.add_group(admin, "pki-team")
    app.accounts.set_membership(admin, "pki-team", "oscar", True)
    app.ras.set_policy(admin, "web", "tls-server", ProfilePolicy(approvals=1, approver_group="pki-team"))
    request_id = submit(app, person(app, "rita"))
    with pytest.raises(Forbidden, match="in group pki-team"):
        app.ra_decisions.approve(person(app, "olga"), Decision(request_id))
    assert app.ra_decisions.approve(person(app, "oscar"), Decision(request_id)).state is RequestState.ISSUED


def test_a_generated_key_nobody_collects_is_destroyed_after_a_week(
    app: wiring.Application, clock: FixedClock, ra: str
) -> None:
    submission = KeygenSubmission("web", "tls-client", "CN=late,O=Example", KeyType.EC_P256)
    submitted = app.ra_intake.submit_keygen(person(app, "rita"), submission)
    key_id = app.ra_delivery.status(submitted.request.request_id).key_id
    assert key_id is not None
    clock.advance(dt.timedelta(days=6))
    assert app.ra_delivery.destroy_uncollected() == 0
    clock.advance(dt.timedelta(days=1, seconds=1))
    assert app.ra_delivery.destroy_uncollected() == 1
    with pytest.raises(NotFound):
        app.keys.load(key_id)
    assert submitted.pickup_token is not None
    with pytest.raises(Conflict, match="no longer exists"):
        app.ra_delivery.pickup_pkcs12(Pickup(submitted.request.request_id, submitted.pickup_token, "correct horse"))
    assert app.ra_delivery.destroy_uncollected() == 0


def test_an_approved_request_whose_fulfilment_was_interrupted_is_resumed_once(
    app: wiring.Application, clock: FixedClock, ra: str
) -> None:
    request_id = submit(app)
    # What a crash between the claiming approval and the CA's signature leaves behind:
    app.writer.run(
        lambda uow: uow.registration.move(
            request_id, RequestState.PENDING, RequestState.APPROVED, decided_at=clock.now()
        )
    )
    assert app.ra_decisions.resume_interrupted() == 0  # it may still be running
    clock.advance(dt.timedelta(minutes=6))
    assert app.ra_decisions.resume_interrupted() == 1
    assert app.ra_delivery.status(request_id).state is RequestState.ISSUED
    assert app.ra_decisions.resume_interrupted() == 0
