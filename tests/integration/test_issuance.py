"""Issuance from CSRs and with generated keys, against a real database."""

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import func, select

from chancery import wiring
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Principal, Role
from chancery.domain.queries import CertificateFilter, PageRequest
from chancery.domain.records import CertificateAuthorityRecord, CertificateRecord, CertificateState
from chancery.domain.serials import SerialNumber
from chancery.errors import (
    BadCSR,
    BadPublicKey,
    CAError,
    Conflict,
    Forbidden,
    LintFailed,
    Malformed,
    NotFound,
    PayloadTooLarge,
    RejectedIdentifier,
)
from chancery.pki.csr import load_csr
from chancery.pki.issuer import CertificateRequest
from chancery.pki.profiles import builtin_profile
from chancery.services.authority.cycle import IssuanceCycle
from chancery.services.authority.hierarchy import NewCA
from chancery.services.authority.issuance import IssueFromCsr, IssueWithNewKey
from chancery.services.authority.signers import SignerDirectory
from chancery.services.profiles.lint_gate import LintGate
from chancery.store.tables import sealed_keys
from tests.support.csrs import make_csr
from tests.support.lint import assert_lints_clean
from tests.support.pki import assert_signed_by, extension

pytestmark = pytest.mark.integration
VECTORS = Path(__file__).parents[1] / "vectors" / "csr"


def all_records(app: wiring.Application, admin: Principal) -> tuple[CertificateRecord, ...]:
    return app.certificates.search(admin, CertificateFilter(), PageRequest(limit=500)).items


@pytest.mark.parametrize("key_type", list(KeyType), ids=[k.value for k in KeyType])
def test_every_profile_lints_clean_for_every_ca_key_type(
    app: wiring.Application, admin: Principal, key_type: KeyType
) -> None:
    root = app.hierarchy.create_root(admin, NewCA("root", "CN=Root,O=Lint", key_type))
    issuing = app.hierarchy.create_intermediate(admin, NewCA("issuing", "CN=Issuing,O=Lint", key_type, parent="root"))
    assert_lints_clean(root.certificate)  # type: ignore[arg-type]
    assert_lints_clean(issuing.certificate)  # type: ignore[arg-type]
    requests = {
        "tls-client": make_csr(cn="alice", sans=("email:alice@example.com",))[1],
        "ocsp-responder": make_csr(cn="OCSP Responder", sans=())[1],
        "sub-ca": make_csr(cn="Sub CA", sans=())[1],
    }
    server_csr = make_csr(cn=None, sans=("DNS:www.example.com", "IP:192.0.2.10"))[1]
    if key_type is KeyType.ED25519:
        # The CA/Browser Forum allows only RSA and ECDSA signatures (BR §7.1.3.2): the linter refuses.
        with pytest.raises(LintFailed) as refused:
            app.issuance.issue_from_csr(admin, IssueFromCsr(ca="issuing", profile="tls-server", csr=server_csr))
        assert "cabf.serverauth.prohibited_signature_algorithm_encoding" in {
            e.identifier for e in refused.value.sub_errors
        }
    else:
        requests["tls-server"] = server_csr
    for profile, csr in requests.items():
        issued = app.issuance.issue_from_csr(admin, IssueFromCsr(ca="issuing", profile=profile, csr=csr))
        assert_lints_clean(issued.certificate)
        assert_signed_by(issued.certificate, x509.load_der_x509_certificate(issuing.certificate))  # type: ignore[arg-type]
        stored = app.certificates.get(admin, "issuing", issued.record.serial)
        assert stored.state is CertificateState.ISSUED and stored.der == issued.record.der
        assert stored.profile == profile and stored.profile_version == 1


@pytest.mark.parametrize(
    ("vector", "profile"),
    [
        ("ok_ec_p256.pem.csr", "tls-server"),
        ("ok_rsa_2048.der.csr", "tls-server"),
        ("ok_ed25519.der.csr", "tls-client"),  # the CA/Browser Forum allows no Ed25519 TLS server keys
        ("ok_new_certificate_request_header.pem.csr", "tls-server"),
    ],
)
def test_issue_from_vector_csrs(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord, vector: str, profile: str
) -> None:
    issued = app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", profile, (VECTORS / vector).read_bytes()))
    assert issued.record.sans == ("DNS:vector.example.com",)
    assert issued.record.subject == "CN=vector.example.com"
    assert 64 <= issued.certificate.serial_number.bit_length() <= 127


@pytest.mark.parametrize(
    ("request_factory", "error"),
    [
        pytest.param(
            lambda: IssueFromCsr(
                "issuing", "tls-server", b"-----BEGIN CERTIFICATE REQUEST-----\nnope\n-----END CERTIFICATE REQUEST-----"
            ),
            Malformed,
            id="fail/malformed-pem",
        ),
        pytest.param(
            lambda: IssueFromCsr("issuing", "tls-server", (VECTORS / "random_bytes.der.csr").read_bytes()),
            Malformed,
            id="fail/der-garbage",
        ),
        pytest.param(
            lambda: IssueFromCsr("issuing", "tls-server", (VECTORS / "bad_signature.der.csr").read_bytes()),
            BadCSR,
            id="fail/bad-signature",
        ),
        pytest.param(
            lambda: IssueFromCsr("issuing", "tls-server", (VECTORS / "short_rsa_key.der.csr").read_bytes()),
            BadPublicKey,
            id="fail/rsa-1024",
        ),
        pytest.param(
            lambda: IssueFromCsr("issuing", "tls-server", (VECTORS / "secp256k1_key.der.csr").read_bytes()),
            BadPublicKey,
            id="fail/unsupported-curve",
        ),
        pytest.param(
            lambda: IssueFromCsr(
                "issuing", "tls-server", make_csr(sans=tuple(f"DNS:h{i}.example.com" for i in range(10_000)))[1]
            ),
            (BadCSR, PayloadTooLarge),
            id="fail/10000-sans",
        ),
        pytest.param(
            lambda: IssueFromCsr("issuing", "tls-server", b"x" * (5 * 1024 * 1024)), PayloadTooLarge, id="fail/5mb"
        ),
        pytest.param(
            lambda: IssueFromCsr("issuing", "no-such-profile", make_csr()[1]), NotFound, id="fail/unknown-profile"
        ),
        pytest.param(
            lambda: IssueFromCsr("issuing", "root-ca", make_csr()[1]), Malformed, id="fail/root-profile-not-issuable"
        ),
        pytest.param(lambda: IssueFromCsr("nope", "tls-server", make_csr()[1]), NotFound, id="fail/unknown-ca"),
        pytest.param(
            lambda: IssueFromCsr("issuing", "tls-server", make_csr(cn=None, sans=())[1]),
            RejectedIdentifier,
            id="fail/tls-server-without-san",
        ),
        pytest.param(
            lambda: IssueFromCsr("issuing", "tls-server", make_csr(sans=("email:a@b.example",))[1]),
            RejectedIdentifier,
            id="fail/wrong-san-type",
        ),
        pytest.param(
            lambda: IssueFromCsr("issuing", "tls-server", make_csr()[1], validity_days=5000),
            Malformed,
            id="fail/validity-over-profile",
        ),
    ],
)
def test_bad_requests_leave_the_database_unchanged(
    app: wiring.Application,
    admin: Principal,
    issuing: CertificateAuthorityRecord,
    request_factory: object,
    error: type[CAError],
) -> None:
    before = all_records(app, admin)
    with pytest.raises(error) as info:
        app.issuance.issue_from_csr(admin, request_factory())  # type: ignore[operator]
    assert info.value.detail
    assert all_records(app, admin) == before  # no reserved serial left behind


def test_requesters_cannot_issue(app: wiring.Application, issuing: CertificateAuthorityRecord) -> None:
    with pytest.raises(Forbidden):
        app.issuance.issue_from_csr(
            Principal("r", frozenset({Role.AUDITOR})), IssueFromCsr("issuing", "tls-server", make_csr()[1])
        )


def test_validity_is_clamped_to_the_issuing_ca(
    app: wiring.Application, admin: Principal, root: CertificateAuthorityRecord
) -> None:
    short = app.hierarchy.create_intermediate(admin, NewCA("short", "CN=Short", parent="root", validity_days=10))
    issued = app.issuance.issue_from_csr(admin, IssueFromCsr("short", "tls-server", make_csr()[1], validity_days=150))
    assert issued.certificate.not_valid_after_utc == short.not_after


def test_renew_keeps_key_and_names(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord, clock: object
) -> None:
    _, csr = make_csr(sans=("DNS:www.example.com", "DNS:example.com"))
    first = app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-server", csr, validity_days=30))
    clock.advance(dt.timedelta(days=20))  # type: ignore[attr-defined]
    renewed = app.issuance.renew(admin, "issuing", first.record.serial, validity_days=90)
    assert renewed.certificate.public_key() == first.certificate.public_key()
    assert renewed.certificate.subject == first.certificate.subject
    assert extension(renewed.certificate, x509.SubjectAlternativeName) == extension(
        first.certificate, x509.SubjectAlternativeName
    )
    assert renewed.record.renewal_of == first.record.serial
    assert renewed.certificate.serial_number != first.certificate.serial_number
    assert renewed.certificate.not_valid_after_utc > first.certificate.not_valid_after_utc


def test_rekey_takes_a_new_key_and_keeps_names(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    key, csr = make_csr(cn="svc.example.com", sans=("DNS:svc.example.com",))
    first = app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-server", csr))
    with pytest.raises(BadCSR, match="same key"):
        app.issuance.rekey(admin, "issuing", first.record.serial, make_csr(key=key)[1])
    _, other_csr = make_csr(cn="ignored", sans=("DNS:ignored.example.com",), key_type="rsa-2048")
    rekeyed = app.issuance.rekey(admin, "issuing", first.record.serial, other_csr)
    assert rekeyed.certificate.public_key() != first.certificate.public_key()
    assert rekeyed.record.sans == ("DNS:svc.example.com",)
    assert rekeyed.record.subject == "CN=svc.example.com"


def test_server_side_key_generation_returns_a_pkcs12(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    result = app.issuance.issue_with_new_key(
        admin,
        IssueWithNewKey(
            ca="issuing",
            profile="tls-client",
            subject="CN=alice,O=Example",
            key_type=KeyType.RSA_2048,
            password="long enough password",
            sans=("email:alice@example.com",),
        ),
    )
    loaded = pkcs12.load_pkcs12(result.pkcs12, b"long enough password")
    assert loaded.cert is not None and loaded.cert.certificate == result.issued.certificate
    assert loaded.key is not None and loaded.key.public_key() == result.issued.certificate.public_key()
    assert len(loaded.additional_certs) == 2  # issuing + root
    assert_lints_clean(result.issued.certificate)
    assert result.issued.record.key_id is not None
    with pytest.raises(Malformed, match="at least 8"):
        app.issuance.issue_with_new_key(
            admin, IssueWithNewKey("issuing", "tls-client", "CN=bob", KeyType.EC_P256, "short")
        )
    with pytest.raises(Malformed, match="CA keys"):
        app.issuance.issue_with_new_key(
            admin, IssueWithNewKey("issuing", "sub-ca", "CN=bob", KeyType.EC_P256, "long enough password")
        )


def test_key_generation_for_a_refused_request_keeps_no_key(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    with pytest.raises(RejectedIdentifier):
        app.issuance.issue_with_new_key(
            admin, IssueWithNewKey("issuing", "tls-server", "CN=x", KeyType.EC_P256, "long enough password")
        )
    with app.database.read() as uow:
        count = uow.connection.execute(
            select(func.count()).select_from(sealed_keys).where(sealed_keys.c.purpose == "end-entity")
        ).scalar()
    assert count == 0


def test_serial_collisions_draw_again(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    """A serial collision (astronomically rare) draws a new serial instead of failing."""
    first = app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-server", make_csr()[1]))
    signers = SignerDirectory(app.database, app.keys)
    draws = iter([first.record.serial, SerialNumber(424242)])
    second = IssuanceCycle(app.writer, signers, app.clock, LintGate(), serials=lambda: next(draws)).issue(
        "issuing", _request()
    )
    assert second.record.serial == SerialNumber(424242)
    always_taken = IssuanceCycle(app.writer, signers, app.clock, LintGate(), serials=lambda: first.record.serial)
    with pytest.raises(Conflict):
        always_taken.issue("issuing", _request())


def _request() -> CertificateRequest:
    csr = load_csr(make_csr()[1])
    return CertificateRequest(csr.subject, csr.public_key, builtin_profile("tls-server"), csr.sans)
