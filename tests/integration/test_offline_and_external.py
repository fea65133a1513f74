"""The offline-root ceremony across two data directories, and CAs under third-party roots."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.exports import ExportFormat
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Principal, local_operator
from chancery.domain.records import CAStatus
from chancery.errors import Conflict, Malformed
from chancery.pki.encoding import to_der, to_pem
from chancery.services.authority.hierarchy import NewCA
from chancery.services.authority.issuance import IssueFromCsr
from chancery.settings import load_settings
from tests.conftest import BASE_TIME
from tests.support.csrs import make_csr
from tests.support.pki import assert_signed_by

pytestmark = pytest.mark.integration


@pytest.fixture
def offline(tmp_path: Path, clock: FixedClock) -> Iterator[wiring.Application]:
    """A second installation in its own data directory (SQLite): the offline root machine."""
    config = load_settings({}, data_dir=str(tmp_path / "offline-root"), kdf_scrypt_n=2**14)
    application = wiring.build(config, b"another passphrase entirely", clock)
    wiring.initialise(application, local_operator("ceremony"))
    yield application
    application.close()


def test_offline_root_ceremony(app: wiring.Application, offline: wiring.Application, admin: Principal) -> None:
    offline.hierarchy.create_root(admin, NewCA("root", "CN=Offline Root,O=Example", KeyType.EC_P384, path_length=1))
    root_pem = offline.hierarchy.export(admin, "root", ExportFormat.PEM)

    pending = app.hierarchy.create_pending(admin, NewCA("issuing", "CN=Online Issuing,O=Example", KeyType.EC_P256))
    assert pending.record.status is CAStatus.PENDING
    with pytest.raises(Conflict, match="pending"):
        app.issuance.issue_from_csr(admin, IssueFromCsr(ca="issuing", profile="tls-server", csr=make_csr()[1]))
    assert app.hierarchy.pending_csr(admin, "issuing") == pending.csr_pem

    # carried on a USB stick: CSR over, certificate back
    signed = offline.issuance.issue_from_csr(
        admin, IssueFromCsr(ca="root", profile="sub-ca", csr=pending.csr_pem.encode())
    )
    record = app.hierarchy.import_certificate(admin, "issuing", to_pem([signed.certificate]), chain=root_pem)
    assert record.status is CAStatus.ACTIVE
    assert record.path_length == 0

    _, csr = make_csr()
    leaf = app.issuance.issue_from_csr(admin, IssueFromCsr(ca="issuing", profile="tls-server", csr=csr))
    assert_signed_by(leaf.certificate, signed.certificate)
    assert_signed_by(signed.certificate, x509.load_pem_x509_certificate(root_pem))
    # the offline side recorded what it signed
    assert offline.certificates.get(admin, "root", signed.record.serial).profile == "sub-ca"


def test_import_refuses_what_does_not_fit(
    app: wiring.Application, offline: wiring.Application, admin: Principal
) -> None:
    offline.hierarchy.create_root(admin, NewCA("root", "CN=Offline Root", KeyType.EC_P256))
    root_pem = offline.hierarchy.export(admin, "root", ExportFormat.PEM)
    pending = app.hierarchy.create_pending(admin, NewCA("issuing", "CN=Issuing"))
    other = offline.issuance.issue_from_csr(
        admin, IssueFromCsr(ca="root", profile="sub-ca", csr=make_csr(cn="Other", sans=())[1])
    )
    with pytest.raises(Malformed, match="not for the key"):
        app.hierarchy.import_certificate(admin, "issuing", to_pem([other.certificate]), chain=root_pem)
    leafish = offline.issuance.issue_from_csr(
        admin, IssueFromCsr(ca="root", profile="tls-client", csr=pending.csr_pem.encode())
    )
    with pytest.raises(Malformed, match="not a CA certificate"):
        app.hierarchy.import_certificate(admin, "issuing", to_pem([leafish.certificate]), chain=root_pem)
    good = offline.issuance.issue_from_csr(
        admin, IssueFromCsr(ca="root", profile="sub-ca", csr=pending.csr_pem.encode())
    )
    with pytest.raises(Malformed, match="self-signed root"):
        app.hierarchy.import_certificate(admin, "issuing", to_pem([good.certificate]))
    with pytest.raises(Malformed):
        app.hierarchy.import_certificate(admin, "issuing", b"garbage")
    assert app.hierarchy.get(admin, "issuing").status is CAStatus.PENDING  # nothing changed
    app.hierarchy.import_certificate(admin, "issuing", to_pem([good.certificate]) + root_pem)
    with pytest.raises(Conflict):
        app.hierarchy.import_certificate(admin, "issuing", to_pem([good.certificate]) + root_pem)


def _third_party_root() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A root made outside Chancery, the way a partner's PKI would."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Partner"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Partner Root"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(BASE_TIME - dt.timedelta(days=1))
        .not_valid_after(BASE_TIME + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def test_ca_under_a_third_party_root_via_trust_anchor(app: wiring.Application, admin: Principal) -> None:
    partner_key, partner_root = _third_party_root()
    anchor = app.hierarchy.import_trust_anchor(admin, to_pem([partner_root]))
    assert anchor.subject == "CN=Partner Root,O=Partner"
    with pytest.raises(Conflict):
        app.hierarchy.import_trust_anchor(admin, to_pem([partner_root]))
    pending = app.hierarchy.create_pending(admin, NewCA("partner-issuing", "CN=Our CA under Partner"))
    csr = x509.load_pem_x509_csr(pending.csr_pem.encode())
    cert = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(partner_root.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(BASE_TIME - dt.timedelta(hours=1))
        .not_valid_after(BASE_TIME + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(partner_key.public_key()), critical=False)
        .sign(partner_key, hashes.SHA256())
    )
    record = app.hierarchy.import_certificate(admin, "partner-issuing", to_pem([cert]))  # root found among anchors
    assert record.chain == (to_der(partner_root),)
    leaf = app.issuance.issue_from_csr(
        admin, IssueFromCsr(ca="partner-issuing", profile="tls-client", csr=make_csr()[1])
    )
    assert_signed_by(leaf.certificate, cert)
    assert leaf.chain == (cert, partner_root)
    with pytest.raises(Malformed, match="self-signed CA"):
        app.hierarchy.import_trust_anchor(admin, to_pem([cert]))
