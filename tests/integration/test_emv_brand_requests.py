"""Issuer key requests and scheme responses in each brand's layout, on a real database and key
store: an issuer here asks, a scheme CA here answers, the issuer imports and issues cards."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chancery import wiring
from chancery.domain.principals import Principal, Role
from chancery.domain.queries import AuditFilter
from chancery.emv.brands import BRANDS, decode_request
from chancery.emv.errors import EmvError, Reason
from chancery.emv.icc_certificate import verify_icc_certificate
from chancery.emv.issuer_certificate import IssuerCertificate, verify_issuer_certificate
from chancery.emv.rsa import EmvPublicKey
from chancery.errors import Forbidden, Malformed
from chancery.services.emv.requests import NewIssuerRequest
from chancery.services.emv.service import IccRequest, NewEmvCa, NewIssuer

pytestmark = pytest.mark.integration

PAN = "4761739001010119"


@pytest.fixture
def parties(app: wiring.Application, admin: Principal) -> wiring.Application:
    app.emv.create_ca(admin, NewEmvCa("scheme", "A000000999", 0x92, 1408, 3))
    app.emv.create_issuer(admin, NewIssuer("bank", "476173", 1152, 3))
    return app


@pytest.mark.parametrize("name", sorted(BRANDS))
def test_request_answer_import_then_cards(parties: wiring.Application, admin: Principal, name: str) -> None:
    key_index = b"\x00\x00\x07" if BRANDS[name].key_index_length else b""
    asked = parties.emv_requests.issuer_request(admin, NewIssuerRequest("bank", name, "1230", key_index=key_index))
    request_name = next(n for n, data in asked.files.items() if data[0] == 0x22)
    digest_name = next(n for n in asked.files if n != request_name)
    assert asked.files[digest_name].decode().strip() == asked.digest
    assert request_name.startswith("476173FF")

    answered = parties.emv_requests.answer_request(admin, "scheme", name, asked.files[request_name])
    (response,) = answered.files.values()
    capk = parties.emv.ca_public_key(admin, "scheme")
    kept = parties.emv_requests.import_response(admin, "bank", name, response, capk)
    assert (kept.ca_index, kept.expiry) == (0x92, "1230")

    today = parties.clock.now().date()
    issuer_cert = IssuerCertificate(kept.certificate, kept.remainder, kept.exponent)
    contents = verify_issuer_certificate(capk.key, issuer_cert, pan=PAN, today=today)
    numbers = rsa.generate_private_key(3, 1024).public_key().public_numbers()
    card_key = EmvPublicKey.from_numbers(numbers.n, numbers.e)
    icc = parties.emv.issue_icc(admin, "bank", IccRequest(PAN, "1229", card_key))
    assert verify_icc_certificate(contents.issuer_key, icc, pan=PAN, static_data=b"", today=today).icc_key == card_key
    actions = [e.action for e in parties.audit.search(admin, AuditFilter(action="emv."), 10)]
    assert actions[:4] == [
        "emv.icc-certified",
        "emv.issuer-certificate-imported",
        "emv.issuer-certified",
        "emv.issuer-request-created",
    ]


def test_a_tampered_request_is_not_certified(parties: wiring.Application, admin: Principal) -> None:
    asked = parties.emv_requests.issuer_request(admin, NewIssuerRequest("bank", "jcb", "1230"))
    data = next(d for d in asked.files.values() if d[0] == 0x22)
    tampered = data[:-5] + bytes([data[-5] ^ 0x80]) + data[-4:]
    with pytest.raises(EmvError):
        parties.emv_requests.answer_request(admin, "scheme", "jcb", tampered)
    with pytest.raises(EmvError) as refused:  # a JCB request read as a Visa one
        parties.emv_requests.answer_request(admin, "scheme", "visa", data)
    assert refused.value.reason in (Reason.WRONG_LENGTH, Reason.BAD_FIELD, Reason.BAD_ISSUER_IDENTIFIER)
    certified = parties.audit.search(admin, AuditFilter(action="emv.issuer-certified"), 10)
    assert certified == []


def test_a_response_for_another_key_or_ca_index_is_refused(parties: wiring.Application, admin: Principal) -> None:
    parties.emv.create_issuer(admin, NewIssuer("other-bank", "476173", 1152, 3))
    asked = parties.emv_requests.issuer_request(admin, NewIssuerRequest("other-bank", "amex", "1230"))
    data = next(d for d in asked.files.values() if d[0] == 0x22)
    (response,) = parties.emv_requests.answer_request(admin, "scheme", "amex", data).files.values()
    capk = parties.emv.ca_public_key(admin, "scheme")
    with pytest.raises(Malformed, match="another key"):
        parties.emv_requests.import_response(admin, "bank", "amex", response, capk)
    wrong_index = response[:-177] + b"\x93" + response[-176:]  # the CA index precedes the certificate
    with pytest.raises(EmvError, match="CA index 93"):
        parties.emv_requests.import_response(admin, "other-bank", "amex", wrong_index, capk)
    assert parties.emv.issuer(admin, "bank").certification is None


def test_requests_are_role_checked(parties: wiring.Application, admin: Principal) -> None:
    auditor = Principal("audrey", frozenset({Role.AUDITOR}))
    with pytest.raises(Forbidden):
        parties.emv_requests.issuer_request(auditor, NewIssuerRequest("bank", "visa", "1230"))
    asked = parties.emv_requests.issuer_request(admin, NewIssuerRequest("bank", "visa", "1230"))
    data = next(d for d in asked.files.values() if d[0] == 0x22)
    with pytest.raises(Forbidden):
        parties.emv_requests.answer_request(auditor, "scheme", "visa", data)
    assert decode_request(BRANDS["visa"], data).service_identifier == bytes(4)
