"""Profiles as data, with the real database: built-ins, versions, subject-DN profiles, CA scoping,
lint before sign, previews. Every built-in profile issues a certificate pkilint passes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Principal, Role, local_operator
from chancery.domain.queries import CertificateFilter, PageRequest
from chancery.domain.records import CertificateAuthorityRecord, ProfileDocumentKind
from chancery.errors import Conflict, Forbidden, LintFailed, Malformed, NotFound, RejectedIdentifier
from chancery.pki.lint import lint
from chancery.pki.profiles import InvalidProfile, builtin_profiles, load_document, parse_profile_text
from chancery.services.authority.hierarchy import NewCA
from chancery.services.authority.issuance import IssueFromCsr
from chancery.services.profiles.compiling import document_of
from chancery.settings import load_settings
from tests.conftest import PASSPHRASE
from tests.support.csrs import make_csr, make_key
from tests.support.lint import assert_lints_clean

pytestmark = pytest.mark.integration
OPERATOR = Principal("op", frozenset({Role.CA_OPERATOR}))
AUDITOR = Principal("aud", frozenset({Role.AUDITOR}))


def csr(
    subject: list[tuple[x509.ObjectIdentifier, str]], sans: tuple[str, ...] = (), key_type: str = "ec-p256"
) -> bytes:
    from cryptography.hazmat.primitives import hashes, serialization

    from chancery.pki.sans import parse_san

    key = make_key(key_type)
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(oid, value) for oid, value in subject])
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([parse_san(s) for s in sans]), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)  # type: ignore[arg-type]


N = x509.NameOID
# A request each built-in profile accepts, with public names (no internal-name acceptances apply).
BUILTIN_REQUESTS: dict[str, tuple[list[tuple[x509.ObjectIdentifier, str]], tuple[str, ...]]] = {
    "tls-server": ([(N.COMMON_NAME, "www.example.com")], ("DNS:www.example.com", "DNS:example.com")),
    "tls-server-client": ([(N.COMMON_NAME, "svc.example.com")], ("DNS:svc.example.com",)),
    "tls-client": ([(N.ORGANIZATION_NAME, "Example"), (N.COMMON_NAME, "alice")], ("email:alice@example.com",)),
    "email-smime": ([(N.COMMON_NAME, "alice@example.com")], ("email:alice@example.com",)),
    "code-signing": (
        [(N.COUNTRY_NAME, "DE"), (N.ORGANIZATION_NAME, "Example"), (N.COMMON_NAME, "Release Signing")],
        (),
    ),
    "document-signing": (
        [(N.ORGANIZATION_NAME, "Example"), (N.COMMON_NAME, "Alice Example")],
        ("email:alice@example.com",),
    ),
    "ocsp-responder": ([(N.ORGANIZATION_NAME, "Example"), (N.COMMON_NAME, "OCSP Responder")], ()),
    "sub-ca": ([(N.ORGANIZATION_NAME, "Example"), (N.COMMON_NAME, "Example Sub CA")], ()),
    "device": (
        [(N.SERIAL_NUMBER, "SN-0042"), (N.COMMON_NAME, "printer-42")],
        ("DNS:printer-42.example.com", "IP:198.51.100.42"),
    ),
    "windows-workstation": (
        [(N.DOMAIN_COMPONENT, "com"), (N.DOMAIN_COMPONENT, "example"), (N.COMMON_NAME, "ws1.example.com")],
        ("DNS:ws1.example.com",),
    ),
    "windows-user": (
        [
            (N.DOMAIN_COMPONENT, "com"),
            (N.DOMAIN_COMPONENT, "example"),
            (N.COMMON_NAME, "Users"),
            (N.COMMON_NAME, "Alice"),
        ],
        ("UPN:alice@example.com", "email:alice@example.com"),
    ),
    "windows-domain-controller": ([(N.COMMON_NAME, "dc1.example.com")], ("DNS:dc1.example.com",)),
}


@pytest.fixture
def public_app(tmp_path: Path, database_url: str, clock: FixedClock) -> Iterator[wiring.Application]:
    """An application whose CRL/OCSP/caIssuers URLs are public names, as a public CA's would be."""
    settings = load_settings(
        {},
        data_dir=str(tmp_path / "data"),
        database_url=database_url,
        kdf_scrypt_n=2**14,
        base_url="http://pki.example.com",
    )
    application = wiring.build(settings, PASSPHRASE, clock)
    wiring.initialise(application, local_operator("setup"))
    yield application
    application.close()


def test_init_installs_every_builtin_profile_once(app: wiring.Application, admin: Principal) -> None:
    records = {r.name: r for r in app.profiles.list(admin)}
    assert set(builtin_profiles()) <= set(records)
    assert records["organisation"].kind is ProfileDocumentKind.SUBJECT
    assert records["sub-ca"].subject_profile == "organisation" and records["sub-ca"].subject_version == 1
    assert all(r.version == 1 and r.created_by == "cli:setup" for r in records.values())
    assert app.profiles.install_builtins(admin) == ()  # already there: nothing changes


@pytest.mark.parametrize("name", sorted(BUILTIN_REQUESTS))
def test_every_builtin_profile_issues_a_certificate_pkilint_passes(
    public_app: wiring.Application, admin: Principal, name: str
) -> None:
    root = public_app.hierarchy.create_root(admin, NewCA("root", "CN=Lint Root,O=Example", KeyType.EC_P384))
    issuing = public_app.hierarchy.create_intermediate(
        admin, NewCA("issuing", "CN=Lint Issuing,O=Example", KeyType.EC_P256, parent="root")
    )
    subject, sans = BUILTIN_REQUESTS[name]
    issued = public_app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", name, csr(subject, sans)))
    profile = public_app.profiles.compiled(admin, name)
    findings = lint(issued.certificate, profile.lint.sets)
    assert not [str(f) for f in findings if f.blocking], name  # no ERROR or FATAL, not even an accepted one
    if name != "tls-server":  # wildcard-free TLS names are valid RFC 5280 too, checked separately below
        assert_lints_clean(issued.certificate)
    for ca in (root, issuing):  # root-ca and sub-ca, as the hierarchy issued them
        assert_lints_clean(ca.certificate)  # type: ignore[arg-type]
    assert issued.record.profile == name and issued.record.profile_version == 1


def test_tls_server_passes_the_cabf_serverauth_validators(public_app: wiring.Application, admin: Principal) -> None:
    public_app.hierarchy.create_root(admin, NewCA("root", "CN=Lint Root,O=Example", KeyType.RSA_2048))
    public_app.hierarchy.create_intermediate(
        admin, NewCA("issuing", "CN=Lint Issuing,O=Example", KeyType.RSA_2048, parent="root")
    )
    request = csr([(N.COMMON_NAME, "*.example.com")], ("DNS:*.example.com", "DNS:example.com"), key_type="rsa-2048")
    issued = public_app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-server", request))
    from chancery.pki.lint import LintSet

    findings = lint(issued.certificate, (LintSet.CABF_SERVERAUTH,))
    assert not [str(f) for f in findings if f.severity in ("FATAL", "ERROR")]
    assert {f.code for f in findings if f.severity == "WARNING"} <= {"cabf.serverauth.dv.common_name_attribute_present"}


def test_editing_makes_a_new_version_that_certificates_record(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    first = app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-client", make_csr(cn="a", sans=())[1]))
    document = parse_profile_text(app.profiles.export(admin, "tls-client"))
    document["validity"]["default"] = "7d"
    saved = app.profiles.save(OPERATOR, document, "one week")
    assert saved.created and saved.record.version == 2 and saved.record.comment == "one week"
    assert not app.profiles.save(OPERATOR, document).created  # unchanged: no version 3
    second = app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "tls-client", make_csr(cn="b", sans=())[1]))
    assert (first.record.profile_version, second.record.profile_version) == (1, 2)
    assert (second.certificate.not_valid_after_utc - second.certificate.not_valid_before_utc).days == 7
    assert app.certificates.get(admin, "issuing", first.record.serial).profile_version == 1
    assert [r.version for r in app.profiles.versions(admin, "tls-client")] == [1, 2]
    assert document_of(app.profiles.get(admin, "tls-client", 1))["validity"]["default"] == "365d"
    renewed = app.issuance.renew(admin, "issuing", first.record.serial)
    assert renewed.record.profile_version == 2  # renewal follows the newest version


def test_editing_a_subject_profile_reversions_the_profiles_using_it(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    request = csr([(N.ORGANIZATION_NAME, "Example"), (N.USER_ID, "u1"), (N.COMMON_NAME, "Build")])
    with pytest.raises(Exception, match="subject.UID: not allowed"):
        app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "code-signing", request))
    document = parse_profile_text(app.profiles.export(admin, "organisation"))
    document["rules"].insert(5, {"attribute": "UID", "max_length": 64})
    saved = app.profiles.save(admin, document, "user ids")
    dependents = {d.name: d for d in saved.dependents}
    assert set(dependents) == {"code-signing", "document-signing", "ocsp-responder", "scep-ra", "sub-ca", "root-ca"}
    assert all(d.version == 2 and d.subject_version == 2 for d in dependents.values())
    issued = app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "code-signing", request))
    assert issued.record.profile_version == 2 and "UID=u1" in issued.record.subject


def test_invalid_profiles_are_refused_whole_and_change_nothing(app: wiring.Application, admin: Principal) -> None:
    document = parse_profile_text(app.profiles.export(admin, "tls-server"))
    document["validity"] = {"default": "90d", "max": "30d"}
    document["bogus"] = True
    with pytest.raises(InvalidProfile) as refused:
        app.profiles.save(admin, document)
    assert {"validity", "bogus"} <= {e.identifier for e in refused.value.sub_errors}
    assert [r.version for r in app.profiles.versions(admin, "tls-server")] == [1]


def test_max_validity_above_the_cas_is_refused(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    document = {
        "name": "long-lived",
        "validity": {"default": "365d", "max": "7300d"},  # 20 years; the issuing CA lives 5
        "key_usage": {"critical": True, "usages": ["digital_signature"]},
        "cas": ["issuing", "missing"],
    }
    with pytest.raises(InvalidProfile) as refused:
        app.profiles.save(admin, document)
    found = {e.identifier: e.detail for e in refused.value.sub_errors}
    assert "longer than CA 'issuing' remains valid" in found["validity.max"]
    assert found["cas"] == "no CA named 'missing'"
    with pytest.raises(NotFound):
        app.profiles.get(admin, "long-lived")


def test_profiles_may_name_the_cas_that_use_them(
    app: wiring.Application, admin: Principal, root: CertificateAuthorityRecord, issuing: CertificateAuthorityRecord
) -> None:
    app.hierarchy.create_intermediate(admin, NewCA("other", "CN=Other CA", parent="root"))
    document = {
        "name": "scoped",
        "validity": {"default": "30d", "max": "90d"},
        "key_usage": {"critical": True, "usages": ["digital_signature"]},
        "sans": {"types": {"DNS": {}}},
        "cas": ["issuing"],
    }
    app.profiles.save(admin, document)
    assert (
        app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "scoped", make_csr()[1])).record.profile == "scoped"
    )
    with pytest.raises(Forbidden, match="may only be used by CA issuing"):
        app.issuance.issue_from_csr(admin, IssueFromCsr("other", "scoped", make_csr()[1]))


def test_switching_lint_off_takes_an_administrator_and_a_reason(app: wiring.Application, admin: Principal) -> None:
    document = parse_profile_text(app.profiles.export(admin, "device"))
    document["lint"] = {"mode": "off"}
    with pytest.raises(Forbidden, match="disable-lint"):
        app.profiles.save(OPERATOR, document, "faster")
    with pytest.raises(Malformed, match="comment saying why"):
        app.profiles.save(admin, document)
    saved = app.profiles.save(admin, document, "vendor firmware needs a non-compliant extension")
    assert saved.record.created_by == "cli:tester" and "vendor firmware" in saved.record.comment
    document["description"] = "still off, edited by an operator"
    assert app.profiles.save(OPERATOR, document, "").created  # keeping it off is an ordinary edit
    with pytest.raises(Forbidden):
        app.profiles.save(AUDITOR, document, "")


def test_a_lint_failure_refuses_the_request_and_stores_nothing(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    document = {
        "name": "broken",
        "validity": {"default": "30d", "max": "90d"},
        "key_usage": {"critical": True, "usages": ["digital_signature"]},
        "sans": {"types": {"DNS": {}}},
        "extensions": {"custom": [{"oid": "2.5.29.54", "value": "020100"}]},  # inhibitAnyPolicy: CA certificates only
    }
    app.profiles.save(admin, document)
    with pytest.raises(LintFailed) as refused:
        app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "broken", make_csr()[1]))
    assert "pkix.end_entity_inhibit_anypolicy_extension_present" in {e.identifier for e in refused.value.sub_errors}
    page = app.certificates.search(admin, CertificateFilter(profile="broken"), PageRequest())
    assert page.items == ()  # not even a reserved serial


def test_preview_shows_what_would_be_issued_and_issues_nothing(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    request = make_csr(cn="intranet.corp", sans=("DNS:intranet.corp", "IP:10.1.1.1"))[1]
    preview = app.previews.preview(AUDITOR, "tls-server", "issuing", request)
    assert preview.certificate.subject.rfc4514_string() == "CN=intranet.corp"
    assert preview.facts.sans == ("DNS:intranet.corp", "IP:10.1.1.1")
    codes = {f.code for f in preview.report.findings}
    assert {"cabf.internal_domain_name", "cabf.internal_ip_address"} <= codes
    assert not preview.report.blocking  # tls-server accepts internal names, with its reason
    assert app.certificates.search(admin, CertificateFilter(ca_name="issuing"), PageRequest()).items == ()  # type: ignore[arg-type]
    with pytest.raises(Exception, match="does not allow email"):
        app.previews.preview(admin, "tls-server", "issuing", make_csr(sans=("email:a@example.com",))[1])


def test_profile_names_kinds_and_edit_modes(
    app: wiring.Application, admin: Principal, issuing: CertificateAuthorityRecord
) -> None:
    with pytest.raises(Malformed, match="subject-DN profile"):
        app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "organisation", make_csr()[1]))
    with pytest.raises(Malformed, match="self-signed roots"):
        app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "root-ca", make_csr()[1]))
    with pytest.raises(NotFound, match="unknown profile"):
        app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "nope", make_csr()[1]))
    certificate_profile: dict[str, Any] = {
        "name": "organisation",
        "validity": {"default": "1d", "max": "2d"},
        "key_usage": {"critical": True, "usages": ["digital_signature"]},
    }
    with pytest.raises(Conflict, match="is a subject profile"):
        app.profiles.save(admin, certificate_profile)
    with pytest.raises(Conflict, match="exists"):
        app.profiles.save(admin, parse_profile_text(app.profiles.export(admin, "device")), create=True)
    with pytest.raises(NotFound, match="create it first"):
        app.profiles.save(admin, {**certificate_profile, "name": "new-one"}, create=False)
    with pytest.raises(Malformed, match="not 'device'"):
        app.profiles.save(admin, {**certificate_profile, "name": "other"}, name="device")
    assert load_document(document_of(app.profiles.get(admin, "device")))


def test_two_editors_cannot_take_the_same_version(app: wiring.Application, admin: Principal) -> None:
    record = app.profiles.get(admin, "device")
    with pytest.raises(Conflict, match="saved meanwhile"), app.database.write() as uow:
        uow.profiles.add(record)


STRICT_PROFILE = {
    "name": "strict",
    "validity": {"default": "30d", "max": "90d"},
    "key_usage": {"critical": True, "usages": ["digital_signature"]},
    "subject": {
        "rules": [
            {"attribute": "C", "syntax": "printable"},
            {"attribute": "O", "max_length": 10},
            {"attribute": "CN", "required": True, "syntax": "printable"},
        ]
    },
    "sans": {"types": {"DNS": {"wildcards": False}}},
}


@pytest.mark.parametrize(
    ("subject", "sans", "field", "rule"),
    [
        pytest.param(
            [(N.LOCALITY_NAME, "Berlin"), (N.COMMON_NAME, "h")], (), "subject.L", "not allowed", id="fail/forbidden-rdn"
        ),
        pytest.param(
            [(N.ORGANIZATION_NAME, "Example Corporation"), (N.COMMON_NAME, "h")],
            (),
            "subject.O",
            "longer than 10 characters",
            id="fail/over-length-limit",
        ),
        pytest.param(
            [(N.COMMON_NAME, "host@example")], (), "subject.CN", "not a PrintableString", id="fail/wrong-string-type"
        ),
        pytest.param(
            [(N.COMMON_NAME, "h")], ("DNS:*.example.com",), None, "does not allow wildcard names", id="fail/wildcard"
        ),
        pytest.param(
            [(N.COMMON_NAME, "h")], ("IP:10.0.0.1",), None, "does not allow IP names", id="fail/ip-where-only-dns"
        ),
    ],
)
def test_requests_breaking_the_profile_are_refused_and_nothing_is_issued(
    app: wiring.Application,
    admin: Principal,
    issuing: CertificateAuthorityRecord,
    subject: list[tuple[x509.ObjectIdentifier, str]],
    sans: tuple[str, ...],
    field: str | None,
    rule: str,
) -> None:
    app.profiles.save(admin, STRICT_PROFILE)
    with pytest.raises(RejectedIdentifier) as refused:
        app.issuance.issue_from_csr(admin, IssueFromCsr("issuing", "strict", csr(subject, sans)))
    assert rule in refused.value.detail
    if field is not None:
        assert field in {e.identifier for e in refused.value.sub_errors}
    assert app.certificates.search(admin, CertificateFilter(ca_name="issuing"), PageRequest()).items == ()  # type: ignore[arg-type]
