"""SCEP over HTTP against the in-process app, on both databases: enrollment by POST and GET, polling
through a two-officer approval, renewal, GetCert, GetCRL, GetNextCACert, and every attack the issue
lists, each answered with its failInfo (or HTTP error), audited, and issuing nothing."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.principals import Principal, Role
from chancery.domain.queries import AuditFilter
from chancery.domain.records import CertificateAuthorityRecord
from chancery.domain.registration import ProfilePolicy, RequestState
from chancery.domain.revocation import RevocationReason
from chancery.domain.serials import SerialNumber
from chancery.pki.scep import (
    FailInfo,
    MessageType,
    PkiStatus,
    crls_in,
    issuer_and_serial,
    issuer_and_subject,
    parse_pki_message,
    transient_certificate,
)
from chancery.services.certificates import RevokeRequest
from chancery.services.identity.accounts import NewGrant
from chancery.services.registration.authorities import NewRa
from chancery.services.registration.decisions import Decision
from chancery.services.scep.challenges import NewChallenges
from chancery.services.scep.directory import ScepSetup
from chancery.web.app import create_app
from tests.integration.test_registration import AUDITOR, person
from tests.support.lint import assert_lints_clean
from tests.support.pki import assert_signed_by
from tests.support.scep import Device, device_csr, key_transaction_id, read_reply

pytestmark = pytest.mark.integration
PKI = {"Content-Type": "application/x-pki-message"}


@pytest.fixture
def scep(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord) -> wiring.Application:
    """RAs devices (default SCEP RA, no approval), other (no approval, no DES) and guarded (2 approvals)."""
    app.ras.create(admin, NewRa("devices", "issuing", ("device",), ProfilePolicy(approvals=0)))
    app.ras.create(admin, NewRa("other", "issuing", ("device",), ProfilePolicy(approvals=0)))
    app.ras.create(admin, NewRa("guarded", "issuing", ("device",), ProfilePolicy(approvals=2)))
    app.scep.configure(admin, ScepSetup("devices"))
    app.scep.configure(admin, ScepSetup("other", default=False, allow_des=False, allow_3des=False))
    app.scep.configure(admin, ScepSetup("guarded", default=False))
    for name in ("olga", "oscar"):
        app.accounts.add_user(admin, name)
        app.accounts.grant(admin, NewGrant(Role.RA_OFFICER, user=name, ra="guarded"))
    return app


@pytest.fixture
def client(scep: wiring.Application) -> Iterator[TestClient]:
    with TestClient(create_app(scep)) as http:
        yield http


def ra_cert(app: wiring.Application, ra: str = "devices") -> x509.Certificate:
    return x509.load_der_x509_certificate(app.scep.service(ra).certificate)


def challenge(app: wiring.Application, admin: Principal, ra: str = "devices", **options: object) -> str:
    return app.scep_challenges.create(admin, NewChallenges(ra, **options)).challenges[0]  # type: ignore[arg-type]


def post(client: TestClient, body: bytes, ra: str | None = None) -> tuple[int, object]:
    response = client.post(f"/scep{'/' + ra if ra else ''}?operation=PKIOperation", content=body, headers=PKI)
    if response.status_code != 200:
        return response.status_code, response.text
    assert response.headers["content-type"] == "application/x-pki-message"
    return 200, read_reply(response.content)


def issued(app: wiring.Application) -> int:
    with app.database.read() as uow:
        return len(uow.registration.list_requests(states=(RequestState.ISSUED,)))


def refusals(app: wiring.Application) -> list[str]:
    """The reasons of every ``scep.refused`` audit entry, newest first."""
    reasons: list[str] = []
    before: int | None = None
    while True:
        page = app.audit.search(AUDITOR, AuditFilter(action="scep.refused", before=before), limit=1000)
        reasons += [str(entry.details.get("reason", "")) for entry in page]
        if len(page) < 1000:
            return reasons
        before = page[-1].sequence


def failed_with(result: tuple[int, object], fail_info: FailInfo) -> None:
    status, reply = result
    assert status == 200, reply
    assert reply.status is PkiStatus.FAILURE and reply.fail_info is fail_info, reply  # type: ignore[attr-defined]


# -- enrollment -------------------------------------------------------------------------------


def test_pkcsreq_by_post_issues_a_certificate_from_the_device_profile(
    scep: wiring.Application,
    client: TestClient,
    admin: Principal,
    clock: FixedClock,
    issuing: CertificateAuthorityRecord,
) -> None:
    device = Device("printer-7", clock.now())
    body = device.enrollment(ra_cert(scep), challenge(scep, admin))
    status, reply = post(client, body)
    assert status == 200 and reply.status is PkiStatus.SUCCESS  # type: ignore[attr-defined]
    assert reply.recipient_nonce == parse_nonce(body)  # type: ignore[attr-defined]
    assert reply.signer_certificate == ra_cert(scep)  # type: ignore[attr-defined]
    leaf, *chain = device.certificates(reply)  # type: ignore[arg-type]
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "printer-7"
    assert leaf.public_key() == device.key.public_key()
    assert_signed_by(leaf, chain[0])
    assert_lints_clean(leaf)
    record = scep.certificates.get(admin, "issuing", SerialNumber(leaf.serial_number))
    assert record.profile == "device"


def parse_nonce(body: bytes) -> bytes:
    return parse_pki_message(body).sender_nonce


@pytest.mark.parametrize(
    ("digest", "cipher"),
    [("sha1", "aes128"), ("sha512", "aes256"), ("sha256", "3des"), ("sha256", "des")],
    ids=["ok/sha1-aes128", "ok/sha512-aes256", "ok/3des", "ok/des-accepted-by-default"],
)
def test_digests_and_ciphers_clients_use(
    scep: wiring.Application, client: TestClient, admin: Principal, clock: FixedClock, digest: str, cipher: str
) -> None:
    device = Device(f"dev-{cipher}", clock.now())
    body = device.enrollment(ra_cert(scep), challenge(scep, admin), digest_algorithm=digest, cipher=cipher)
    status, reply = post(client, body)
    assert status == 200 and reply.status is PkiStatus.SUCCESS, reply  # type: ignore[attr-defined]
    assert reply.digest_algorithm == digest  # type: ignore[attr-defined]
    assert device.certificates(reply)[0].public_key() == device.key.public_key()  # type: ignore[arg-type]


def test_pkioperation_by_get_and_named_ra(
    scep: wiring.Application, client: TestClient, admin: Principal, clock: FixedClock
) -> None:
    device = Device("by-get", clock.now())
    body = device.enrollment(ra_cert(scep, "other"), challenge(scep, admin, "other"))
    response = client.get(
        "/scep/other", params={"operation": "PKIOperation", "message": base64.b64encode(body).decode()}
    )
    assert response.status_code == 200, response.text
    assert read_reply(response.content).status is PkiStatus.SUCCESS


def test_pending_until_two_officers_approve_then_certpoll_gets_it(
    scep: wiring.Application, client: TestClient, admin: Principal, clock: FixedClock
) -> None:
    device = Device("guarded-1", clock.now())
    status, reply = post(
        client, device.enrollment(ra_cert(scep, "guarded"), challenge(scep, admin, "guarded")), "guarded"
    )
    assert reply.status is PkiStatus.PENDING  # type: ignore[attr-defined]
    poll = issuer_and_subject(device.certificate.subject, device.certificate.subject)  # type: ignore[union-attr]
    _, still = post(client, device.message(ra_cert(scep, "guarded"), poll, MessageType.CERT_POLL), "guarded")
    assert still.status is PkiStatus.PENDING  # type: ignore[attr-defined]
    [request] = scep.ra_decisions.queue(person(scep, "olga"))
    assert request.requester == "scep:guarded"
    for officer in ("olga", "oscar"):
        scep.ra_decisions.approve(person(scep, officer), Decision(request.request_id))
    _, done = post(client, device.message(ra_cert(scep, "guarded"), poll, MessageType.CERT_POLL), "guarded")
    assert done.status is PkiStatus.SUCCESS  # type: ignore[attr-defined]
    assert device.certificates(done)[0].public_key() == device.key.public_key()  # type: ignore[arg-type]
    # A poll signed by another key learns nothing.
    other = Device("guarded-1", clock.now())
    failed_with(
        post(
            client,
            other.message(ra_cert(scep, "guarded"), poll, MessageType.CERT_POLL, transaction_id=_tid(device)),
            "guarded",
        ),
        FailInfo.BAD_CERT_ID,
    )


def _tid(device: Device) -> str:
    return key_transaction_id(device.key)


def test_renewal_signed_by_the_current_certificate_needs_no_challenge(
    scep: wiring.Application, client: TestClient, admin: Principal, clock: FixedClock
) -> None:
    device = Device("renew-me", clock.now())
    _, first = post(client, device.enrollment(ra_cert(scep), challenge(scep, admin)))
    current = device.certificates(first)[0]  # type: ignore[arg-type]
    renewing = Device("renew-me", clock.now())
    renewing.key, renewing.certificate = device.key, current
    new_key = rsa.generate_private_key(65537, 2048)
    csr = device_csr(new_key, "renew-me", None)
    status, renewed = post(
        client, renewing.message(ra_cert(scep), csr, MessageType.RENEWAL_REQ, transaction_id="renewal-1")
    )
    assert renewed.status is PkiStatus.SUCCESS  # type: ignore[attr-defined]
    assert renewing.certificates(renewed)[0].public_key() == new_key.public_key()  # type: ignore[arg-type]
    # Once revoked, the old certificate renews nothing.
    scep.certificates.revoke(
        admin, RevokeRequest("issuing", SerialNumber(current.serial_number), RevocationReason.keyCompromise)
    )
    before = issued(scep)
    again = renewing.message(
        ra_cert(scep), device_csr(new_key, "renew-me", None), MessageType.RENEWAL_REQ, transaction_id="renewal-2"
    )
    failed_with(post(client, again), FailInfo.BAD_REQUEST)
    assert issued(scep) == before
    # A certificate this CA never issued renews nothing either.
    stranger = Device("renew-me", clock.now())
    failed_with(
        post(client, stranger.message(ra_cert(scep), csr, MessageType.RENEWAL_REQ, transaction_id="renewal-3")),
        FailInfo.BAD_CERT_ID,
    )


def test_getcert_and_getcrl(
    scep: wiring.Application,
    client: TestClient,
    admin: Principal,
    clock: FixedClock,
    issuing: CertificateAuthorityRecord,
) -> None:
    device = Device("lookup", clock.now())
    _, first = post(client, device.enrollment(ra_cert(scep), challenge(scep, admin)))
    leaf, ca_certificate, *_ = device.certificates(first)  # type: ignore[arg-type]
    _, got = post(
        client,
        device.message(
            ra_cert(scep), issuer_and_serial(ca_certificate.subject, leaf.serial_number), MessageType.GET_CERT
        ),
    )
    assert device.certificates(got) == [leaf]  # type: ignore[arg-type]
    _, crl_reply = post(
        client,
        device.message(
            ra_cert(scep), issuer_and_serial(ca_certificate.subject, leaf.serial_number), MessageType.GET_CRL
        ),
    )
    assert crl_reply.status is PkiStatus.SUCCESS  # type: ignore[attr-defined]
    [crl] = crls_in(device.opened(crl_reply))  # type: ignore[arg-type]
    assert crl.issuer == ca_certificate.subject and crl.is_signature_valid(ca_certificate.public_key())  # type: ignore[arg-type]
    unknown = issuer_and_serial(ca_certificate.subject, 12345)
    failed_with(post(client, device.message(ra_cert(scep), unknown, MessageType.GET_CERT)), FailInfo.BAD_CERT_ID)


# -- attacks and bad input --------------------------------------------------------------------


def test_a_replayed_message_is_refused(
    scep: wiring.Application, client: TestClient, admin: Principal, clock: FixedClock
) -> None:
    body = Device("replayed", clock.now()).enrollment(ra_cert(scep), challenge(scep, admin))
    assert post(client, body)[1].status is PkiStatus.SUCCESS  # type: ignore[attr-defined]
    before = issued(scep)
    failed_with(post(client, body), FailInfo.BAD_REQUEST)
    assert issued(scep) == before
    assert any("replay" in reason for reason in refusals(scep))


@pytest.mark.parametrize(
    "case", ["used", "expired", "other-ra", "subject-pattern", "missing"], ids=lambda c: f"fail/{c}"
)
def test_challenges_that_do_not_admit(
    scep: wiring.Application, client: TestClient, admin: Principal, clock: FixedClock, case: str
) -> None:
    secret: str | None
    if case == "used":
        secret = challenge(scep, admin)
        assert (
            post(client, Device("first", clock.now()).enrollment(ra_cert(scep), secret))[1].status is PkiStatus.SUCCESS
        )  # type: ignore[attr-defined]
    elif case == "expired":
        secret = challenge(scep, admin, ttl=dt.timedelta(minutes=5))
        clock.advance(dt.timedelta(minutes=6))
    elif case == "other-ra":
        secret = challenge(scep, admin, "other")
    elif case == "subject-pattern":
        secret = challenge(scep, admin, subject="CN=printer-*")
    else:
        secret = None
    before = issued(scep)
    body = Device("laptop-1", clock.now()).enrollment(ra_cert(scep), secret)
    failed_with(post(client, body), FailInfo.BAD_REQUEST)
    assert issued(scep) == before
    assert any("challenge" in reason for reason in refusals(scep))


def test_a_csr_for_another_key_than_the_signer(
    scep: wiring.Application, client: TestClient, admin: Principal, clock: FixedClock
) -> None:
    device = Device("mismatch", clock.now())
    other_key = rsa.generate_private_key(65537, 2048)
    body = device.message(ra_cert(scep), device_csr(other_key, "mismatch", challenge(scep, admin)))
    failed_with(post(client, body), FailInfo.BAD_MESSAGE_CHECK)


def test_an_envelope_for_another_certificate(
    scep: wiring.Application, client: TestClient, admin: Principal, clock: FixedClock
) -> None:
    stranger_key = rsa.generate_private_key(65537, 2048)
    stranger = transient_certificate(
        stranger_key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]), clock.now()
    )
    body = Device("wrong-recipient", clock.now()).enrollment(stranger, challenge(scep, admin))
    failed_with(post(client, body), FailInfo.BAD_MESSAGE_CHECK)


@pytest.mark.parametrize(("cipher", "ra"), [("des", "other"), ("3des", "other")], ids=["fail/des-off", "fail/3des-off"])
def test_des_when_it_is_off(
    scep: wiring.Application, client: TestClient, admin: Principal, clock: FixedClock, cipher: str, ra: str
) -> None:
    body = Device("old-router", clock.now()).enrollment(ra_cert(scep, ra), challenge(scep, admin, ra), cipher=cipher)
    failed_with(post(client, body, ra), FailInfo.BAD_ALG)


@pytest.mark.parametrize(
    "body",
    [b"", b"garbage", b"\x30\x82\x10\x00" + b"\x00" * 20, b"\x30" * 300_000],
    ids=["fail/empty", "fail/garbage", "fail/truncated-header", "fail/oversized"],
)
def test_bodies_that_are_no_pkimessage_get_http_400(scep: wiring.Application, client: TestClient, body: bytes) -> None:
    before = issued(scep)
    status, text = post(client, body)
    assert status in (400, 413) and text
    assert issued(scep) == before


def test_a_truncated_message_gets_http_400(
    scep: wiring.Application, client: TestClient, admin: Principal, clock: FixedClock
) -> None:
    body = Device("cut", clock.now()).enrollment(ra_cert(scep), challenge(scep, admin))
    for cut in (10, len(body) // 2, len(body) - 1):
        assert post(client, body[:cut])[0] == 400


def test_two_thousand_wrong_challenges_engage_the_rate_limit(
    scep: wiring.Application, client: TestClient, clock: FixedClock, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the limiter lives in memory: once is enough (PostgreSQL audits refusals in the other tests)")
    device = Device("guesser", clock.now())
    csr = device_csr(device.key, "guesser", "wrong-guess")
    statuses: list[int] = []
    for attempt in range(2000):
        status, _ = post(client, device.message(ra_cert(scep), csr, transaction_id=f"guess-{attempt}"))
        statuses.append(status)
    assert statuses[:20] == [200] * 20  # FAILURE CertReps while the budget lasts
    assert set(statuses[20:]) == {429}
    assert issued(scep) == 0
    assert len(refusals(scep)) == 2000


def test_get_next_ca_cert_during_a_rollover(
    scep: wiring.Application, client: TestClient, admin: Principal, root: CertificateAuthorityRecord
) -> None:
    assert client.get("/scep", params={"operation": "GetNextCACert"}).status_code == 404
    assert "GetNextCACert" not in client.get("/scep", params={"operation": "GetCACaps"}).text
    scep.scep.configure(admin, ScepSetup("devices", next_ca="root"))
    caps = client.get("/scep", params={"operation": "GetCACaps"}).text.split()
    assert "GetNextCACert" in caps
    response = client.get("/scep", params={"operation": "GetNextCACert"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-x509-next-ca-cert"


# -- REST for MDM integrations ----------------------------------------------------------------


def test_mdm_gets_challenges_over_rest_with_an_officer_token(
    scep: wiring.Application, client: TestClient, admin: Principal, clock: FixedClock
) -> None:
    officer = scep.tokens.create_for_user(admin, "olga", "mdm").token
    headers = {"Authorization": f"Bearer {officer}"}
    made = client.post("/api/v1/scep/guarded/challenges", json={"ttl": "15m", "count": 3}, headers=headers)
    assert made.status_code == 201, made.text
    body = made.json()
    assert len(body["challenges"]) == 3 and len(set(body["challenges"])) == 3
    # olga is an officer of RA guarded only: no challenges for devices, and bad input changes nothing.
    assert client.post("/api/v1/scep/devices/challenges", json={}, headers=headers).status_code == 403
    assert client.post("/api/v1/scep/guarded/challenges", json={"ttl": "1y"}, headers=headers).status_code == 400
    assert client.post("/api/v1/scep/guarded/challenges", json={"count": 0}, headers=headers).status_code == 400
    assert client.post("/api/v1/scep/guarded/challenges", json={}).status_code == 401
    listed = client.get("/api/v1/scep", headers=headers).json()["items"]
    assert {item["ra"] for item in listed} == {"devices", "other", "guarded"}
    assert [item["default"] for item in listed if item["ra"] == "devices"] == [True]
    # A challenge from REST enrolls a device once.
    device = Device("mdm-device", clock.now())
    status, reply = post(client, device.enrollment(ra_cert(scep, "guarded"), body["challenges"][0]), "guarded")
    assert reply.status is PkiStatus.PENDING  # type: ignore[attr-defined]
