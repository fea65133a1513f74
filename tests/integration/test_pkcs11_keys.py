"""The PKCS#11 key store on SoftHSM2: every key type and mechanism, the attributes of what it makes,
the faults (wrong PIN, missing token or module, unknown label, unsupported mechanism), and 50
signatures from 8 threads. Through the application's real key router and registry (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

from chancery import wiring
from chancery.domain.keystores import KeyLocation, PinKind, PinSource
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Principal
from chancery.errors import (
    Forbidden,
    HsmKeyMissing,
    KeystoreUnavailable,
    Malformed,
    NotFound,
    TokenUnavailable,
    UnsupportedMechanism,
    WrongPin,
)
from chancery.keys.base import KeyHandle, KeyPurpose, Pkcs12Request
from tests.conftest import PASSPHRASE
from tests.support.softhsm import SoftHsm, pkcs11_config, process_softhsm

pytestmark = pytest.mark.integration
NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PKCS#11 test")])
HASHES = {KeyType.EC_P384: hashes.SHA384(), KeyType.EC_P521: hashes.SHA512(), KeyType.ED25519: None}


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    return process_softhsm(tmp_path_factory)


@pytest.fixture
def hsm_app(app: wiring.Application, admin: Principal, softhsm: SoftHsm) -> wiring.Application:
    app.key_stores.configure_pkcs11(admin, pkcs11_config(softhsm))
    return app


def self_signed(key: KeyHandle, algorithm: hashes.HashAlgorithm | None, **options: object) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(NAME)
        .issuer_name(NAME)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
    )
    return key.sign_builder(builder, algorithm, **options)  # type: ignore[arg-type]


def verify(public: PublicKeyTypes, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm | None) -> None:
    if isinstance(public, ec.EllipticCurvePublicKey):
        assert algorithm is not None
        public.verify(signature, data, ec.ECDSA(algorithm))
    elif isinstance(public, rsa.RSAPublicKey):
        assert algorithm is not None
        public.verify(signature, data, padding.PKCS1v15(), algorithm)
    else:
        assert isinstance(public, ed25519.Ed25519PublicKey)
        public.verify(signature, data)


# -- each key type and mechanism ---------------------------------------------------------------


@pytest.mark.parametrize("key_type", list(KeyType), ids=[f"ok/{k.value}" for k in KeyType])
def test_generate_sign_and_reopen(
    hsm_app: wiring.Application, softhsm: SoftHsm, settings: object, clock: object, key_type: KeyType
) -> None:
    key = hsm_app.key_router.generate_in(KeyLocation.PKCS11, key_type, KeyPurpose.CA)
    assert key.key_id.startswith("pkcs11:") and key.key_type is key_type and key.signs_on_device
    algorithm = HASHES.get(key_type, hashes.SHA256())
    certificate = self_signed(key, algorithm)
    certificate.verify_directly_issued_by(certificate)  # an X.509 signature, DER-encoded as pyca expects
    verify(key.public_key(), key.sign(b"to be signed", algorithm), b"to be signed", algorithm)
    # Another process (a new application on the same database) opens it by its id.
    other = wiring.build(hsm_app.settings, PASSPHRASE, hsm_app.clock)
    try:
        reopened = other.key_router.load(key.key_id)
        assert reopened.public_key() == key.public_key()
        verify(reopened.public_key(), reopened.sign(b"again", algorithm), b"again", algorithm)
    finally:
        other.close()
    listed = softhsm.private_keys()[f"chancery-ca-{key.key_id[7:19]}"]
    assert listed["Usage"] == "sign"
    assert listed["Access"].split(", ")[:3] == ["sensitive", "always sensitive", "never extractable"]


@pytest.mark.parametrize("salt", ["digest", "max"], ids=["ok/pss-digest-length", "ok/pss-max-length"])
def test_rsa_pss(hsm_app: wiring.Application, salt: str) -> None:
    key = hsm_app.key_router.generate_in(KeyLocation.PKCS11, KeyType.RSA_2048, KeyPurpose.CA)
    length = padding.PSS.DIGEST_LENGTH if salt == "digest" else padding.PSS.MAX_LENGTH
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), length)
    certificate = self_signed(key, hashes.SHA256(), rsa_padding=pss)
    assert certificate.signature_algorithm_oid.dotted_string == "1.2.840.113549.1.1.10"  # id-RSASSA-PSS
    certificate.verify_directly_issued_by(certificate)


@pytest.mark.parametrize(("bits", "exponent"), [(1024, 3), (1408, 3), (1984, 65537)], ids=lambda v: f"ok/{v}")
def test_emv_raw_rsa(hsm_app: wiring.Application, bits: int, exponent: int) -> None:
    key = hsm_app.key_router.generate_raw_rsa_in(KeyLocation.PKCS11, bits, exponent)
    assert key.modulus.bit_length() == bits and key.public_exponent == exponent
    block = b"\x6a\x02" + os.urandom(key.modulus_length - 3) + b"\xbc"  # EMV Book 2 recovered-data frame
    signature = key.sign_raw(block)
    assert len(signature) == key.modulus_length
    assert pow(int.from_bytes(signature, "big"), exponent, key.modulus) == int.from_bytes(block, "big")
    assert hsm_app.key_router.load_raw_rsa(key.key_id).modulus == key.modulus
    with pytest.raises(Malformed):
        key.sign_raw(block[1:])
    with pytest.raises(KeystoreUnavailable, match="EMV key"):
        hsm_app.key_router.load(key.key_id)


def test_keys_never_leave_the_token(hsm_app: wiring.Application) -> None:
    key = hsm_app.key_router.generate_in(KeyLocation.PKCS11, KeyType.EC_P256, KeyPurpose.CA)
    certificate = self_signed(key, hashes.SHA256())
    request = Pkcs12Request(certificate=certificate, chain=(), password=b"secret-secret", friendly_name="ca")
    with pytest.raises(Forbidden, match="never exported"):
        hsm_app.key_router.export_pkcs12(key.key_id, request)
    with pytest.raises(Malformed, match="end-entity keys"):
        hsm_app.key_router.generate_in(KeyLocation.PKCS11, KeyType.EC_P256, KeyPurpose.END_ENTITY)


def test_destroyed_key_is_gone(hsm_app: wiring.Application, softhsm: SoftHsm) -> None:
    key = hsm_app.key_router.generate_in(KeyLocation.PKCS11, KeyType.EC_P256, KeyPurpose.OCSP)
    assert hsm_app.key_router.purpose(key.key_id) is KeyPurpose.OCSP
    hsm_app.key_router.destroy(key.key_id)
    assert f"chancery-ocsp-{key.key_id[7:19]}" not in softhsm.private_keys()
    with pytest.raises(NotFound):
        hsm_app.key_router.load(key.key_id)


def test_a_key_removed_from_the_token_is_reported(hsm_app: wiring.Application, softhsm: SoftHsm) -> None:
    key = hsm_app.key_router.generate_in(KeyLocation.PKCS11, KeyType.EC_P256, KeyPurpose.CA)
    softhsm.tool("--delete-object", "--type", "privkey", "--id", key.key_id[7:])
    other = wiring.build(hsm_app.settings, PASSPHRASE, hsm_app.clock)
    try:
        with pytest.raises(HsmKeyMissing, match="is not in token 'chancery-test'"):
            other.key_router.load(key.key_id)
    finally:
        other.close()


# -- faults: each a clear error, and nothing changed -------------------------------------------


FAULTS = {
    "fail/wrong-pin": ({"pin": PinSource(PinKind.ENV, "CHANCERY_TEST_WRONG_PIN")}, WrongPin, "refused the PIN"),
    "fail/pin-variable-unset": (
        {"pin": PinSource(PinKind.ENV, "CHANCERY_TEST_NO_SUCH_VARIABLE")},
        KeystoreUnavailable,
        "set CHANCERY_TEST_NO_SUCH_VARIABLE",
    ),
    "fail/missing-token": ({"token_label": "no-such-token"}, TokenUnavailable, "there is no token 'no-such-token'"),
    "fail/missing-slot": ({"token_label": None, "slot": 4242}, TokenUnavailable, "there is no token in slot 4242"),
    "fail/missing-module": ({"module": "/nonexistent/libpkcs11.so"}, TokenUnavailable, "does not load"),
}


@pytest.mark.parametrize("changes", list(FAULTS), ids=list(FAULTS))
@pytest.mark.parametrize("logged_in", [False, True], ids=["fresh", "while-logged-in"])
def test_configuration_faults_change_nothing(
    app: wiring.Application,
    admin: Principal,
    softhsm: SoftHsm,
    monkeypatch: pytest.MonkeyPatch,
    changes: str,
    logged_in: bool,
) -> None:
    """A configuration that cannot log in is refused before anything is stored, also while this
    process is logged in to the same token (PKCS#11 shares the login: a wrong PIN must not ride on it)."""
    monkeypatch.setenv("CHANCERY_TEST_WRONG_PIN", "0000-not-the-pin")
    values, error, message = FAULTS[changes]
    if logged_in:
        app.key_stores.configure_pkcs11(admin, pkcs11_config(softhsm))
        app.key_router.generate_in(KeyLocation.PKCS11, KeyType.EC_P256, KeyPurpose.CA)
    before = app.key_stores.report(admin, check_token=False)
    audit_head = app.audit.verify(admin).entries if hasattr(app.audit, "verify") else None
    with pytest.raises(error, match=message.replace("(", r"\(")):
        app.key_stores.configure_pkcs11(admin, pkcs11_config(softhsm, **values))
    after = app.key_stores.report(admin, check_token=False)
    assert after == before
    if audit_head is not None:
        assert app.audit.verify(admin).entries == audit_head


def test_not_configured(app: wiring.Application) -> None:
    with pytest.raises(KeystoreUnavailable, match="configure-pkcs11"):
        app.key_router.generate_in(KeyLocation.PKCS11, KeyType.EC_P256, KeyPurpose.CA)


@pytest.mark.parametrize("via", ["builder", "sign"], ids=["fail/sha3-certificate", "fail/sha1-signature"])
def test_unsupported_mechanism(hsm_app: wiring.Application, via: str) -> None:
    key = hsm_app.key_router.generate_in(KeyLocation.PKCS11, KeyType.EC_P256, KeyPurpose.CA)
    with pytest.raises(UnsupportedMechanism, match="SHA-256, SHA-384 or SHA-512"):
        if via == "builder":
            self_signed(key, hashes.SHA3_256())
        else:
            key.sign(b"data", hashes.SHA1())


# -- concurrency -------------------------------------------------------------------------------


def test_fifty_signatures_from_eight_threads(hsm_app: wiring.Application) -> None:
    key = hsm_app.key_router.generate_in(KeyLocation.PKCS11, KeyType.EC_P256, KeyPurpose.CA)
    messages = [os.urandom(64) for _ in range(50)]
    with ThreadPoolExecutor(8) as pool:
        signatures = list(pool.map(lambda m: key.sign(m, hashes.SHA256()), messages))
    for message, signature in zip(messages, signatures, strict=True):
        verify(key.public_key(), signature, message, hashes.SHA256())
    with pytest.raises(InvalidSignature):
        verify(key.public_key(), signatures[0], messages[1], hashes.SHA256())


def test_errors_never_quote_the_pin(
    app: wiring.Application, admin: Principal, softhsm: SoftHsm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANCERY_TEST_WRONG_PIN", "9999-wrong-pin-value")
    wrong = pkcs11_config(softhsm, pin=PinSource(PinKind.ENV, "CHANCERY_TEST_WRONG_PIN"))
    with pytest.raises(WrongPin) as caught:
        app.key_stores.configure_pkcs11(admin, wrong)
    assert "9999" not in repr(caught.value) and softhsm.pin not in repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def audit_head(app: wiring.Application) -> tuple[int, str]:
    with app.database.read() as uow:
        return uow.audit.head()
