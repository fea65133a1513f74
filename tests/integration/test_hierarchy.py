"""The CA hierarchy against a real database and the sealed key store."""

import pytest
from cryptography import x509

from chancery import wiring
from chancery.domain.exports import ExportFormat
from chancery.domain.keytypes import KeyType
from chancery.domain.names import CAName
from chancery.domain.principals import Principal, Role
from chancery.domain.queries import CertificateFilter, PageRequest
from chancery.domain.records import CAStatus, CertificateAuthorityRecord
from chancery.errors import Conflict, Forbidden, Malformed, NotFound
from chancery.pki.encoding import load_certificates
from chancery.services.authority.hierarchy import NewCA
from chancery.services.authority.issuance import IssueFromCsr
from tests.support.csrs import make_csr
from tests.support.lint import assert_lints_clean
from tests.support.pki import assert_signed_by, extension

pytestmark = pytest.mark.integration
ADMIN = Principal("t", frozenset({Role.ADMINISTRATOR}))


def test_root_and_issuing_ca(
    app: wiring.Application, root: CertificateAuthorityRecord, issuing: CertificateAuthorityRecord
) -> None:
    assert root.status is CAStatus.ACTIVE and root.is_root
    root_cert = x509.load_der_x509_certificate(root.certificate)  # type: ignore[arg-type]
    issuing_cert = x509.load_der_x509_certificate(issuing.certificate)  # type: ignore[arg-type]
    assert_signed_by(issuing_cert, root_cert)
    assert issuing.chain == (root.certificate,)
    assert issuing.parent == "root"
    # the root's certificates carry the root's own CRL and AIA URLs
    cdp = extension(issuing_cert, x509.CRLDistributionPoints)
    assert cdp[0].full_name[0].value == "http://127.0.0.1:8000/crl/root.crl"  # type: ignore[index]
    assert issuing.urls.crl == "http://127.0.0.1:8000/crl/issuing.crl"
    for cert in (root_cert, issuing_cert):
        assert_lints_clean(cert)
    # both are recorded as certificates of their issuer, like any other certificate
    page = app.certificates.search(ADMIN, CertificateFilter(ca_name=CAName("root")), PageRequest())
    assert [c.profile for c in page.items] == ["root-ca", "sub-ca"]


def test_any_depth_with_path_length_honoured(app: wiring.Application, admin: Principal) -> None:
    app.hierarchy.create_root(admin, NewCA("r", "CN=R", KeyType.EC_P256, path_length=2))
    a = app.hierarchy.create_intermediate(admin, NewCA("a", "CN=A", KeyType.EC_P256, parent="r"))
    b = app.hierarchy.create_intermediate(admin, NewCA("b", "CN=B", KeyType.EC_P256, parent="a"))
    assert (a.path_length, b.path_length) == (1, 0)
    with pytest.raises(Conflict, match="pathLenConstraint 0"):
        app.hierarchy.create_intermediate(admin, NewCA("c", "CN=C", KeyType.EC_P256, parent="b"))
    # b still issues leaves; its chain runs b -> a -> r
    _, csr = make_csr()
    issued = app.issuance.issue_from_csr(admin, IssueFromCsr(ca="b", profile="tls-server", csr=csr))
    assert [c.subject.rfc4514_string() for c in issued.chain] == ["CN=B", "CN=A", "CN=R"]
    with pytest.raises(Conflict, match="path length"):
        app.issuance.issue_from_csr(admin, IssueFromCsr(ca="b", profile="sub-ca", csr=make_csr(cn="Sub", sans=())[1]))


def test_unconstrained_hierarchy_goes_deep(app: wiring.Application, admin: Principal) -> None:
    app.hierarchy.create_root(admin, NewCA("l0", "CN=L0", KeyType.ED25519))
    for depth in range(1, 5):
        app.hierarchy.create_intermediate(
            admin, NewCA(f"l{depth}", f"CN=L{depth}", KeyType.ED25519, parent=f"l{depth - 1}")
        )
    chain = load_certificates(app.hierarchy.export(admin, "l4", ExportFormat.PEM, include_chain=True))
    assert len(chain) == 5
    for child, parent in zip(chain, chain[1:], strict=False):
        assert_signed_by(child, parent)


@pytest.mark.parametrize(
    ("new", "error"),
    [
        pytest.param(NewCA("root", "CN=Dup"), Conflict, id="fail/duplicate-name"),
        pytest.param(NewCA("Bad Name", "CN=X"), Malformed, id="fail/bad-name"),
        pytest.param(NewCA("x", "NOPE"), Malformed, id="fail/bad-subject"),
        pytest.param(NewCA("x", "CN=X", validity_days=40 * 365), Malformed, id="fail/too-long"),
        pytest.param(NewCA("x", "CN=X", path_length=99), Malformed, id="fail/path-length"),
    ],
)
def test_bad_root_requests_change_nothing(
    app: wiring.Application, admin: Principal, root: CertificateAuthorityRecord, new: NewCA, error: type[Exception]
) -> None:
    before = app.hierarchy.list(admin)
    with pytest.raises(error):
        app.hierarchy.create_root(admin, new)
    assert app.hierarchy.list(admin) == before


def test_intermediate_needs_an_active_parent(app: wiring.Application, admin: Principal) -> None:
    with pytest.raises(NotFound):
        app.hierarchy.create_intermediate(admin, NewCA("x", "CN=X", parent="nope"))
    app.hierarchy.create_pending(admin, NewCA("pending", "CN=P"))
    with pytest.raises(Conflict, match="pending"):
        app.hierarchy.create_intermediate(admin, NewCA("x", "CN=X", parent="pending"))


def test_export_formats(app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord) -> None:
    pem = app.hierarchy.export(admin, "issuing", ExportFormat.PEM)
    assert pem.count(b"BEGIN CERTIFICATE") == 1
    assert app.hierarchy.export(admin, "issuing", ExportFormat.PEM, include_chain=True).count(b"BEGIN CERTIFICATE") == 2
    assert app.hierarchy.export(admin, "issuing", ExportFormat.DER) == issuing.certificate
    p7b = app.hierarchy.export(admin, "issuing", ExportFormat.P7B, include_chain=True)
    assert len(load_certificates(p7b)) == 2
    with pytest.raises(Malformed):
        app.hierarchy.export(admin, "issuing", ExportFormat.DER, include_chain=True)
    with pytest.raises(Malformed):
        app.hierarchy.export(admin, "issuing", ExportFormat.P12)


def test_auditors_read_but_do_not_create(app: wiring.Application, root: CertificateAuthorityRecord) -> None:
    auditor = Principal("auditor", frozenset({Role.AUDITOR}))
    assert [r.name for r in app.hierarchy.list(auditor)] == ["root"]
    with pytest.raises(Forbidden):
        app.hierarchy.create_intermediate(auditor, NewCA("x", "CN=X", parent="root"))
    requester = Principal("req", frozenset({Role.REQUESTER}))
    with pytest.raises(Forbidden):
        app.hierarchy.list(requester)
