"""A SCEP RA whose key is in a PKCS#11 token (SoftHSM2): the token opens the device's envelope
(CKM_RSA_PKCS) and signs the CertRep; the key can sign and decrypt but is never extractable."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.principals import Principal
from chancery.domain.records import CertificateAuthorityRecord
from chancery.domain.registration import ProfilePolicy
from chancery.pki.scep import FailInfo, PkiStatus
from chancery.services.registration.authorities import NewRa
from chancery.services.scep.challenges import NewChallenges
from chancery.services.scep.directory import ScepSetup
from chancery.web.app import create_app
from tests.integration.test_pkcs11_ca import hsm_app, softhsm  # noqa: F401 - fixtures
from tests.support.scep import Device, read_reply
from tests.support.softhsm import SoftHsm

pytestmark = pytest.mark.integration


def test_an_hsm_held_ra_key_opens_envelopes_and_signs_replies(
    hsm_app: wiring.Application,  # noqa: F811
    softhsm: SoftHsm,  # noqa: F811
    admin: Principal,
    clock: FixedClock,
    issuing: CertificateAuthorityRecord,
) -> None:
    hsm_app.ras.create(admin, NewRa("devices", "issuing", ("device",), ProfilePolicy(approvals=0)))
    service = hsm_app.scep.configure(admin, ScepSetup("devices", key_store="pkcs11"))
    assert service.key_id.startswith("pkcs11:")
    ra_certificate = x509.load_der_x509_certificate(service.certificate)
    secret = hsm_app.scep_challenges.create(admin, NewChallenges("devices")).challenges[0]
    device = Device("hsm-device", clock.now())
    with TestClient(create_app(hsm_app)) as client:
        response = client.post("/scep?operation=PKIOperation", content=device.enrollment(ra_certificate, secret))
        wrong = Device("other", clock.now()).enrollment(_same_name_other_key(ra_certificate), secret)
        garbled = client.post("/scep?operation=PKIOperation", content=wrong)
    reply = read_reply(response.content)
    assert reply.status is PkiStatus.SUCCESS and reply.signer_certificate == ra_certificate
    assert device.certificates(reply)[0].public_key() == device.key.public_key()
    # Addressed to the RA certificate (issuer and serial) but encrypted to another key: the token's
    # padding error becomes random bytes, answered like any wrong key.
    assert garbled.status_code == 200, garbled.text
    refused = read_reply(garbled.content)
    assert refused.status is PkiStatus.FAILURE and refused.fail_info is FailInfo.BAD_MESSAGE_CHECK
    listed = softhsm.private_keys()[f"chancery-scep-ra-{service.key_id[7:19]}"]  # as pkcs11-tool shows it
    assert "decrypt" in listed["Usage"] and "sign" in listed["Usage"]
    assert "never extractable" in listed["Access"]


def _same_name_other_key(certificate: x509.Certificate) -> x509.Certificate:
    """A certificate with the RA certificate's issuer and serial number but another RSA key."""
    key = rsa.generate_private_key(65537, 2048)
    return (
        x509.CertificateBuilder()
        .subject_name(certificate.subject)
        .issuer_name(certificate.issuer)
        .public_key(key.public_key())
        .serial_number(certificate.serial_number)
        .not_valid_before(certificate.not_valid_before_utc)
        .not_valid_after(certificate.not_valid_after_utc)
        .sign(key, hashes.SHA256())
    )
