"""CAs whose keys are in a PKCS#11 token (SoftHSM2): the core flow through the services (root,
issuing CA, a certificate, a CRL and an OCSP response signed in the token, all lint-clean),
REST (``key_store`` and the asynchronous issuance path), adopting a key already in the token,
and CA creation faults that change nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp as pyca_ocsp
from fastapi.testclient import TestClient

from chancery import wiring
from chancery.domain.keystores import PinKind, PinSource
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Principal, Role
from chancery.domain.revocation import RevocationReason
from chancery.domain.revocation_records import OcspSigning, RevocationSettings
from chancery.domain.serials import SerialNumber
from chancery.emv.icc_certificate import verify_icc_certificate
from chancery.emv.issuer_certificate import IssuerCertificate, verify_issuer_certificate
from chancery.emv.rsa import EmvPublicKey
from chancery.errors import Conflict, Forbidden, KeyLabelNotFound, KeystoreUnavailable, Malformed, WrongPin
from chancery.pki.ocsp import make_cert_id
from chancery.services.authority.hierarchy import NewCA
from chancery.services.authority.issuance import IssueFromCsr
from chancery.services.certificates import RevokeRequest
from chancery.services.emv.service import IccRequest, NewEmvCa, NewIssuer
from chancery.web.app import create_app
from tests.support.csrs import make_csr
from tests.support.lint import assert_lints_clean
from tests.support.softhsm import SoftHsm, pkcs11_config, process_softhsm
from tests.unit.pki.test_ocsp import ocsp_findings, request_der

pytestmark = pytest.mark.integration
PAN = "4761739001010119"
STATIC = bytes.fromhex("5A0847617390010101195F24032512315F25030101019F0702FF00")
ROOT = NewCA("root", "CN=HSM Root CA,O=Chancery Tests", KeyType.EC_P384, key_store="pkcs11")
ISSUING = NewCA("issuing", "CN=HSM Issuing CA,O=Chancery Tests", KeyType.RSA_2048, parent="root", key_store="pkcs11")


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    return process_softhsm(tmp_path_factory)


@pytest.fixture
def hsm_app(app: wiring.Application, admin: Principal, softhsm: SoftHsm) -> wiring.Application:
    app.key_stores.configure_pkcs11(admin, pkcs11_config(softhsm))
    return app


def certificate(der: bytes | None) -> x509.Certificate:
    assert der is not None
    return x509.load_der_x509_certificate(der)


def state(app: wiring.Application) -> tuple[object, ...]:
    """What a failed CA creation must leave as it was: CAs, HSM key records, the audit head."""
    with app.database.read() as uow:
        return uow.authorities.list(), uow.key_stores.hsm_keys(), uow.audit.head()


def test_core_ca_flow_signed_in_the_token(hsm_app: wiring.Application, admin: Principal, softhsm: SoftHsm) -> None:
    root = hsm_app.hierarchy.create_root(admin, ROOT)
    issuing = hsm_app.hierarchy.create_intermediate(admin, ISSUING)
    assert root.key_id.startswith("pkcs11:") and issuing.key_id.startswith("pkcs11:")
    root_cert, issuing_cert = certificate(root.certificate), certificate(issuing.certificate)
    root_cert.verify_directly_issued_by(root_cert)
    issuing_cert.verify_directly_issued_by(root_cert)
    assert_lints_clean(issuing_cert)

    issued = hsm_app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-server", make_csr()[1]))
    issued.certificate.verify_directly_issued_by(issuing_cert)
    assert_lints_clean(issued.certificate)
    assert issued.certificate.signature_algorithm_oid.dotted_string == "1.2.840.113549.1.1.11"  # sha256WithRSA

    serial = SerialNumber(issued.certificate.serial_number)
    hsm_app.certificates.revoke(admin, RevokeRequest("issuing", serial, RevocationReason.keyCompromise))
    crl = x509.load_der_x509_crl(hsm_app.crls.publish(admin, "issuing").full.der)
    assert crl.is_signature_valid(issuing_cert.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(serial.value) is not None

    hsm_app.revocation_settings.configure(admin, RevocationSettings(ca_name="issuing", ocsp_signing=OcspSigning.CA))
    answer = hsm_app.ocsp.answer(request_der([make_cert_id(issuing_cert, serial.value)], nonce=b"n" * 16)).der
    response = pyca_ocsp.load_der_ocsp_response(answer)
    assert response.certificate_status is pyca_ocsp.OCSPCertStatus.REVOKED
    assert response.certificates == []  # signed by the CA key itself, in the token
    public = issuing_cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey) and response.signature_hash_algorithm is not None
    public.verify(
        response.signature, response.tbs_response_bytes, padding.PKCS1v15(), response.signature_hash_algorithm
    )
    assert ocsp_findings(answer) == []

    listed = softhsm.private_keys()
    for record in (root, issuing):
        key = listed[f"chancery-ca-{record.key_id[7:19]}"]
        assert key["Usage"] == "sign" and "never extractable" in key["Access"]


def test_rest_creates_an_hsm_ca_and_issues_off_the_event_loop(hsm_app: wiring.Application, admin: Principal) -> None:
    hsm_app.hierarchy.create_root(admin, ROOT)
    token = hsm_app.tokens.create(admin, "pkcs11-rest", frozenset({Role.ADMINISTRATOR})).token
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(hsm_app)) as http:
        body = {"name": "team", "parent": "root", "subject": "CN=Team CA", "key_store": "pkcs11"}
        created = http.post("/api/v1/cas", json=body, headers=auth)
        assert created.status_code == 201, created.text
        assert created.json()["key_store"] == "pkcs11"
        wrong = http.post("/api/v1/cas", json={**body, "name": "other", "key_store": "floppy"}, headers=auth)
        assert wrong.status_code == 400 and wrong.headers["content-type"] == "application/problem+json"
        issued = http.post(
            "/api/v1/cas/team/certificates", json={"csr": make_csr()[1].decode(), "profile": "tls-server"}, headers=auth
        )
    assert issued.status_code == 201, issued.text
    leaf = x509.load_pem_x509_certificate(issued.json()["certificate"].encode())
    leaf.verify_directly_issued_by(certificate(hsm_app.hierarchy.get(admin, "team").certificate))


def test_adopt_a_key_already_in_the_token(hsm_app: wiring.Application, admin: Principal, softhsm: SoftHsm) -> None:
    label = f"adopted-{id(hsm_app):x}"
    cka_id = f"{id(hsm_app):x}".rjust(16, "0")
    softhsm.tool("--keypairgen", "--key-type", "EC:secp384r1", "--label", label, "--id", cka_id, "--usage-sign")
    root = hsm_app.hierarchy.create_root(admin, NewCA("adopter", "CN=Adopted Root", existing_key_label=label))
    assert root.key_id == f"pkcs11:{cka_id}" and root.key_type is KeyType.EC_P384
    cert = certificate(root.certificate)
    cert.verify_directly_issued_by(cert)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    report = hsm_app.key_stores.report(admin)
    (use,) = [u for u in report.keys if u.key.label == label]
    assert use.ca == "adopter" and use.key.adopted
    with pytest.raises(Conflict, match="already the key of CA 'adopter'"):
        hsm_app.hierarchy.create_root(admin, NewCA("again", "CN=Again", existing_key_label=label))


@pytest.mark.parametrize(
    "case",
    [
        "fail/label-does-not-exist",
        "fail/extractable-key",
        "fail/key-without-id",
        "fail/not-configured",
        "fail/wrong-pin",
    ],
)
def test_ca_creation_faults_change_nothing(
    app: wiring.Application, admin: Principal, softhsm: SoftHsm, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    if case != "fail/not-configured":
        pin = PinSource(PinKind.ENV, "CHANCERY_TEST_CHANGED_PIN")
        monkeypatch.setenv("CHANCERY_TEST_CHANGED_PIN", softhsm.pin)
        app.key_stores.configure_pkcs11(admin, pkcs11_config(softhsm, pin=pin))
    new = ROOT
    if case == "fail/label-does-not-exist":
        new = NewCA("root", "CN=Root", existing_key_label="no-such-key")
    elif case in ("fail/extractable-key", "fail/key-without-id"):
        label = f"{case[5:]}-{id(app):x}"
        extra = ["--extractable", "--id", f"{id(app):x}".rjust(16, "0")] if case == "fail/extractable-key" else []
        softhsm.tool("--keypairgen", "--key-type", "EC:prime256v1", "--label", label, *extra)
        new = NewCA("root", "CN=Root", existing_key_label=label)
    elif case == "fail/wrong-pin":  # the PIN changed since configuration (nothing is logged in now)
        monkeypatch.setenv("CHANCERY_TEST_CHANGED_PIN", "0000-changed")
    objects = softhsm.object_count()
    before = state(app)
    error = {
        "fail/label-does-not-exist": KeyLabelNotFound,
        "fail/extractable-key": Forbidden,
        "fail/key-without-id": Malformed,
        "fail/not-configured": KeystoreUnavailable,
        "fail/wrong-pin": WrongPin,
    }[case]
    with pytest.raises(error) as caught:
        app.hierarchy.create_root(admin, new)
    assert state(app) == before and softhsm.object_count() == objects
    if case == "fail/extractable-key":
        assert "CKA_EXTRACTABLE=true" in str(caught.value)


def test_emv_scheme_and_issuer_keys_in_the_token(hsm_app: wiring.Application, admin: Principal) -> None:
    """EMV Book 2 certificates signed in the token with CKM_RSA_X_509 recover under the public keys."""
    hsm_app.emv.create_ca(admin, NewEmvCa("scheme", "A000000999", 1, 1408, 3, key_store="pkcs11"))
    hsm_app.emv.create_issuer(admin, NewIssuer("bank", "476173", 1152, 3, key_store="pkcs11"))
    hsm_app.emv.certify_issuer(admin, "bank", "scheme", "1249")
    assert hsm_app.emv.ca(admin, "scheme").key_id.startswith("pkcs11:")
    capk = hsm_app.emv.ca_public_key(admin, "scheme")
    issuer = hsm_app.emv.issuer(admin, "bank")
    assert issuer.key_id.startswith("pkcs11:") and issuer.certification is not None
    certification = issuer.certification
    certified = IssuerCertificate(certification.certificate, certification.remainder, certification.exponent)
    today = hsm_app.clock.now().date()
    contents = verify_issuer_certificate(capk.key, certified, pan=PAN, today=today)
    card = rsa.generate_private_key(3, 1024).public_key().public_numbers()
    card_key = EmvPublicKey.from_numbers(card.n, card.e)
    icc = hsm_app.emv.issue_icc(admin, "bank", IccRequest(PAN, "1230", card_key, STATIC))
    assert (
        verify_icc_certificate(contents.issuer_key, icc, pan=PAN, static_data=STATIC, today=today).icc_key == card_key
    )
