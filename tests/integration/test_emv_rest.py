"""The EMV CA over REST (TestClient, real services): create, certify, issue cards; bad input is a 4xx."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from chancery import wiring
from chancery.domain.principals import Principal, Role
from chancery.emv.capk import CaPublicKey
from chancery.emv.icc_certificate import IccCertificate, verify_icc_certificate
from chancery.emv.issuer_certificate import IssuerCertificate, verify_issuer_certificate
from chancery.web.app import create_app

pytestmark = pytest.mark.integration
PAN = "4761739001010119"


@pytest.fixture
def client(app: wiring.Application) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as http:
        yield http


@pytest.fixture
def auth(app: wiring.Application, admin: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.tokens.create(admin, 'emv', frozenset({Role.ADMINISTRATOR})).token}"}


@pytest.fixture(scope="module")
def card() -> dict[str, str]:
    numbers = rsa.generate_private_key(3, 1024).public_key().public_numbers()
    return {"modulus": format(numbers.n, "X"), "exponent": "03"}


def test_scheme_issuer_and_cards_over_rest(client: TestClient, auth: dict[str, str], card: dict[str, str]) -> None:
    created = client.post(
        "/api/v1/emv/cas", json={"name": "scheme", "rid": "A000000999", "index": "01", "bits": 1408}, headers=auth
    )
    assert created.status_code == 201, created.text
    capk = CaPublicKey.from_json(created.json()["public_key"])
    assert client.get("/api/v1/emv/cas/scheme", headers=auth).json()["public_key"] == created.json()["public_key"]
    issuer = client.post("/api/v1/emv/issuers", json={"name": "bank", "bin": "476173", "bits": 1152}, headers=auth)
    assert issuer.status_code == 201 and issuer.json()["certification"] is None
    certified = client.post(
        "/api/v1/emv/issuers/bank/certification", json={"ca": "scheme", "expiry": "1249"}, headers=auth
    )
    assert certified.status_code == 200, certified.text
    c = certified.json()
    assert c["ca_index_8F"] == "01" and c["data_objects"].startswith("8F0101" + "9081B0")
    today = dt.date.today()
    issuer_cert = IssuerCertificate(
        bytes.fromhex(c["certificate_90"]), bytes.fromhex(c["remainder_92"]), bytes.fromhex(c["exponent_9F32"])
    )
    issuer_key = verify_issuer_certificate(capk.key, issuer_cert, pan=PAN, today=today).issuer_key

    cards = {
        "cards": [{"pan": PAN, "expiry": "1230", "icc_public_key": card, "static_data": "5A08476173900101011" + "9"}]
    }
    issued = client.post("/api/v1/emv/issuers/bank/icc-certificates", json=cards, headers=auth)
    assert issued.status_code == 200, issued.text
    (one,) = issued.json()
    icc = IccCertificate(
        bytes.fromhex(one["certificate_9F46"]),
        bytes.fromhex(one["remainder_9F48"]),
        bytes.fromhex(one["exponent_9F47"]),
    )
    verified = verify_icc_certificate(
        issuer_key, icc, pan=PAN, static_data=bytes.fromhex(cards["cards"][0]["static_data"]), today=today
    )
    assert format(verified.icc_key.n, "X") == card["modulus"]


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/emv/cas", {"name": "x", "rid": "A000000999", "index": "01", "bits": 2048}),
        ("/api/v1/emv/cas", {"name": "x", "rid": "A0000009", "index": "01", "bits": 1408}),
        ("/api/v1/emv/cas", {"name": "x", "rid": "A000000999", "index": "ZZ", "bits": 1408}),
        ("/api/v1/emv/cas", {"name": "x", "rid": "A000000999", "index": "01", "bits": 1408, "exponent": 2}),
        ("/api/v1/emv/issuers", {"name": "y", "bin": "47", "bits": 1152}),
        ("/api/v1/emv/issuers/bank/icc-certificates", {"cards": []}),
        (
            "/api/v1/emv/issuers/bank/icc-certificates",
            {"cards": [{"pan": "12", "expiry": "1230", "icc_public_key": {"modulus": "AB"}}]},
        ),
        (
            "/api/v1/emv/issuers/bank/icc-certificates",
            {"cards": [{"pan": PAN, "expiry": "1230", "icc_public_key": {"modulus": "ABC"}}]},
        ),
        (
            "/api/v1/emv/issuers/bank/icc-certificates",
            {"cards": [{"pan": PAN, "expiry": "1230", "icc_public_key": {"modulus": "AB" * 128, "exponent": "02"}}]},
        ),
    ],
    ids=[
        "2048-bits",
        "short-rid",
        "bad-index",
        "exponent-2",
        "short-bin",
        "no-cards",
        "short-pan",
        "odd-hex",
        "exponent-2-card",
    ],
)
def test_bad_input_is_a_problem_document(
    client: TestClient, auth: dict[str, str], url: str, body: dict[str, object]
) -> None:
    client.post("/api/v1/emv/issuers", json={"name": "bank", "bin": "476173", "bits": 1152}, headers=auth)
    response = client.post(url, json=body, headers=auth)
    assert response.status_code in (400, 404), response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_an_auditor_reads_but_creates_nothing(client: TestClient, app: wiring.Application, admin: Principal) -> None:
    token = app.tokens.create(admin, "auditor", frozenset({Role.AUDITOR})).token
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/emv/cas", headers=headers).json() == []
    refused = client.post(
        "/api/v1/emv/cas", json={"name": "x", "rid": "A000000999", "index": "01", "bits": 1024}, headers=headers
    )
    assert refused.status_code == 403


def test_brand_request_answer_and_import_over_rest(client: TestClient, auth: dict[str, str]) -> None:
    created = client.post(
        "/api/v1/emv/cas", json={"name": "scheme", "rid": "A000000999", "index": "05", "bits": 1408}, headers=auth
    )
    ca_key = created.json()["public_key"]
    client.post("/api/v1/emv/issuers", json={"name": "bank", "bin": "476173", "bits": 1152}, headers=auth)
    asked = client.post("/api/v1/emv/issuers/bank/requests", json={"brand": "visa", "expiry": "1249"}, headers=auth)
    assert asked.status_code == 201, asked.text
    files = asked.json()["files"]
    assert set(files) == {"476173FF_000001.INP", "476173FF_000001.HSH"}
    assert bytes.fromhex(files["476173FF_000001.HSH"]).decode().strip() == asked.json()["digest"]
    answered = client.post(
        "/api/v1/emv/cas/scheme/answers",
        json={"brand": "visa", "request": files["476173FF_000001.INP"]},
        headers=auth,
    )
    assert answered.status_code == 200, answered.text
    (response,) = answered.json()["files"].values()
    kept = client.post(
        "/api/v1/emv/issuers/bank/responses",
        json={"brand": "visa", "response": response, "ca_key": ca_key},
        headers=auth,
    )
    assert kept.status_code == 200, kept.text
    assert kept.json() == {"rid": "A000000999", "ca_index_8F": "05", "expiry": "1249"}
    assert client.get("/api/v1/emv/issuers/bank", headers=auth).json()["certification"]["ca_index_8F"] == "05"

    for body, status in (
        ({"brand": "visa", "request": "00"}, 400),  # truncated
        ({"brand": "nope", "request": files["476173FF_000001.INP"]}, 400),
        ({"brand": "visa", "request": "zz"}, 400),
        ({"brand": "visa", "request": "00" * 5000}, 400),  # over the file size limit
    ):
        refused = client.post("/api/v1/emv/cas/scheme/answers", json=body, headers=auth)
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
