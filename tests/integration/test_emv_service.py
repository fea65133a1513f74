"""The EMV CA service on a real database and the sealed key store: scheme CA -> issuer -> cards."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chancery import wiring
from chancery.domain.approvals import OperationState
from chancery.domain.principals import Grant, Principal, Role
from chancery.domain.queries import AuditFilter
from chancery.emv.errors import EmvError
from chancery.emv.icc_certificate import verify_icc_certificate
from chancery.emv.issuer_certificate import IssuerCertificate, verify_issuer_certificate
from chancery.emv.rsa import EmvPublicKey
from chancery.errors import ApprovalRequired, Conflict, Forbidden, Malformed
from chancery.services.approvals import APPROVALS_POLICY
from chancery.services.emv.service import IccRequest, NewEmvCa, NewIssuer

pytestmark = pytest.mark.integration

PAN = "4761739001010119"
STATIC = bytes.fromhex("5A0847617390010101195F24032512315F25030101019F0702FF00")


@pytest.fixture(scope="module")
def card_key() -> EmvPublicKey:
    numbers = rsa.generate_private_key(3, 1024).public_key().public_numbers()
    return EmvPublicKey.from_numbers(numbers.n, numbers.e)


@pytest.fixture
def chain(app: wiring.Application, admin: Principal) -> wiring.Application:
    app.emv.create_ca(admin, NewEmvCa("test-scheme", "A000000999", 1, 1408, 3))
    app.emv.create_issuer(admin, NewIssuer("bank", "476173", 1152, 3))
    app.emv.certify_issuer(admin, "bank", "test-scheme", "1249")
    return app


def test_a_card_certificate_verifies_through_the_chain(
    chain: wiring.Application, admin: Principal, card_key: EmvPublicKey
) -> None:
    today = chain.clock.now().date()
    capk = chain.emv.ca_public_key(admin, "test-scheme")
    assert capk.to_json()["rid"] == "A000000999" and capk.to_json()["index"] == "01" and capk.key.length == 176
    issuer = chain.emv.issuer(admin, "bank")
    assert issuer.certification is not None and issuer.certification.serial == b"\x00\x00\x01"
    cert = IssuerCertificate(
        issuer.certification.certificate, issuer.certification.remainder, issuer.certification.exponent
    )
    contents = verify_issuer_certificate(capk.key, cert, pan=PAN, today=today)
    assert contents.issuer_identifier == "476173" and contents.expiry.mmyy == "1249"

    icc = chain.emv.issue_icc(admin, "bank", IccRequest(PAN, "1230", card_key, STATIC))
    card = verify_icc_certificate(contents.issuer_key, icc, pan=PAN, static_data=STATIC, today=today)
    assert card.icc_key == card_key and card.expiry.mmyy == "1230" and card.serial == b"\x00\x00\x01"
    with pytest.raises(EmvError):  # the static data is part of the hash
        verify_icc_certificate(contents.issuer_key, icc, pan=PAN, static_data=STATIC + b"\x00", today=today)
    audited = chain.audit.search(admin, AuditFilter(action="emv."), 10)
    assert [e.action for e in audited] == [
        "emv.icc-certified",
        "emv.issuer-certified",
        "emv.issuer-created",
        "emv.ca-created",
    ]
    assert audited[0].details["pan"] == "476173******0119" and PAN not in audited[0].details_json


def test_a_batch_is_all_or_nothing_and_serials_follow_on(
    chain: wiring.Application, admin: Principal, card_key: EmvPublicKey
) -> None:
    batch = [IccRequest(f"47617390010101{n:02d}", "1230", card_key) for n in range(20)]
    issued = chain.emv.issue_icc_batch(admin, "bank", batch)
    assert len(issued) == 20
    bad = [*batch[:5], IccRequest("5500000000000004", "1230", card_key), *batch[5:]]
    with pytest.raises(Malformed, match="card 6: the PAN does not start with the issuer's BIN"):
        chain.emv.issue_icc_batch(admin, "bank", bad)
    again = chain.emv.issue_icc(admin, "bank", batch[0])
    issuer_key = EmvPublicKey.from_numbers(chain.emv.issuer(admin, "bank").modulus, 3)
    card = verify_icc_certificate(issuer_key, again, pan=batch[0].pan, static_data=b"", today=chain.clock.now().date())
    assert card.serial == (21).to_bytes(3, "big")  # the refused batch took no serials


@pytest.mark.parametrize(
    ("new", "error"),
    [
        (NewEmvCa("x", "A0000009", 1, 1408), Malformed),
        (NewEmvCa("x", "A000000999", 256, 1408), Malformed),
        (NewEmvCa("x", "A000000999", 1, 2048), Malformed),
        (NewEmvCa("x", "A000000999", 1, 1408, 2), Malformed),
        (NewEmvCa("Bad Name!", "A000000999", 1, 1408), Malformed),
    ],
    ids=["short-rid", "index-256", "2048-bits", "exponent-2", "bad-name"],
)
def test_bad_ca_requests_change_nothing(app: wiring.Application, admin: Principal, new: NewEmvCa, error: type) -> None:
    with pytest.raises(error):
        app.emv.create_ca(admin, new)
    assert app.emv.list_cas(admin) == ()


def test_duplicates_and_bad_issuer_requests(
    chain: wiring.Application, admin: Principal, card_key: EmvPublicKey
) -> None:
    with pytest.raises(Conflict):
        chain.emv.create_ca(admin, NewEmvCa("test-scheme", "A000000998", 2, 1024))
    with pytest.raises(Conflict):
        chain.emv.create_ca(admin, NewEmvCa("other", "A000000999", 1, 1024))  # same RID and index
    with pytest.raises(Malformed):
        chain.emv.create_issuer(admin, NewIssuer("b2", "47", 1152))  # a BIN has 3 to 8 digits
    with pytest.raises(Malformed):
        chain.emv.certify_issuer(admin, "bank", "test-scheme", "1301")  # month 13
    with pytest.raises(Malformed):
        chain.emv.issue_icc(admin, "bank", IccRequest(PAN, "0120", card_key))  # expired
    big = rsa.generate_private_key(3, 1160).public_key().public_numbers()
    with pytest.raises(EmvError, match="cannot be certified"):
        chain.emv.issue_icc(admin, "bank", IccRequest(PAN, "1230", EmvPublicKey.from_numbers(big.n, big.e)))


def test_roles_scope_emv_work_in_the_service(chain: wiring.Application, card_key: EmvPublicKey) -> None:
    officer = Principal("olga", grants=frozenset({Grant(Role.RA_OFFICER, ca="bank")}))
    chain.emv.issue_icc(officer, "bank", IccRequest(PAN, "1230", card_key))
    with pytest.raises(Forbidden):
        chain.emv.certify_issuer(officer, "bank", "test-scheme", "1249")
    with pytest.raises(Forbidden):
        chain.emv.create_ca(officer, NewEmvCa("mine", "A000000997", 1, 1024))
    outsider = Principal("oscar", grants=frozenset({Grant(Role.RA_OFFICER, ca="another-bank")}))
    with pytest.raises(Forbidden):
        chain.emv.issue_icc(outsider, "bank", IccRequest(PAN, "1230", card_key))


def test_creating_an_emv_ca_is_dual_controlled(app: wiring.Application, admin: Principal) -> None:
    app.policies.set(admin, APPROVALS_POLICY, 1)
    alice = Principal("alice", frozenset({Role.ADMINISTRATOR}))
    with pytest.raises(ApprovalRequired) as raised:
        app.emv.create_ca(alice, NewEmvCa("scheme", "A000000999", 1, 1024))
    assert app.emv.list_cas(admin) == ()
    done = app.dual_control.approve(
        Principal("bob", frozenset({Role.ADMINISTRATOR})), raised.value.sub_errors[0].detail
    )
    assert done.state is OperationState.EXECUTED, done.result
    assert [c.name for c in app.emv.list_cas(admin)] == ["scheme"]


def test_an_imported_scheme_certificate_must_certify_this_issuer(chain: wiring.Application, admin: Principal) -> None:
    capk = chain.emv.ca_public_key(admin, "test-scheme")
    chain.emv.create_issuer(admin, NewIssuer("other-bank", "512345", 1152))
    signed = chain.emv.issuer(admin, "bank").certification
    assert signed is not None
    cert = IssuerCertificate(signed.certificate, signed.remainder, signed.exponent)
    with pytest.raises(Malformed, match="another key"):
        chain.emv.import_certification(admin, "other-bank", capk, cert)
    kept = chain.emv.import_certification(admin, "bank", capk, cert)
    assert kept.serial == signed.serial and kept.expiry == "1249"
