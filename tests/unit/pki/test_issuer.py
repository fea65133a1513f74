"""prepare -> sign once: profile rules, validity, path length, extensions."""

import datetime as dt

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chancery.domain.keytypes import KeyType
from chancery.domain.records import DistributionUrls
from chancery.domain.serials import SerialNumber
from chancery.errors import BadPublicKey, CAError, Conflict, Malformed, RejectedIdentifier
from chancery.keys.generation import generate_private_key
from chancery.keys.software import SoftwareKeyHandle
from chancery.pki.encoding import public_key_sha256
from chancery.pki.issuer import CertificateRequest, Signer, prepare
from chancery.pki.names import parse_name
from chancery.pki.profiles import builtin_profile
from chancery.pki.sans import parse_san
from chancery.pki.spki import key_identifiers, subject_public_key
from tests.support.csrs import make_key
from tests.support.lint import assert_lints_clean
from tests.support.pki import assert_signed_by, extension

NOW = dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
URLS = DistributionUrls("http://ca.test/crl/x.crl", "http://ca.test/ocsp", "http://ca.test/ca/x.crt")


def handle(key_type: KeyType = KeyType.EC_P256) -> SoftwareKeyHandle:
    return SoftwareKeyHandle(f"k-{key_type.value}", key_type, generate_private_key(key_type))


def self_signed_root(key_type: KeyType = KeyType.EC_P256, days: int = 3650, path_length: int | None = None) -> Signer:
    key = handle(key_type)
    request = CertificateRequest(
        parse_name("CN=Root"),
        key.public_key(),
        builtin_profile("root-ca"),
        validity=dt.timedelta(days=days),
        path_length=path_length,
    )
    cert = prepare(request, Signer(key, None, URLS), SerialNumber(1), NOW).sign()
    return Signer(key, cert, URLS, remaining_path_length=path_length)


def leaf_request(
    profile: str = "tls-server",
    sans: tuple[str, ...] = ("DNS:www.example.com",),
    subject: str = "CN=www.example.com",
    **kw: object,
) -> CertificateRequest:
    key = make_key()
    return CertificateRequest(
        parse_name(subject),
        key.public_key(),
        builtin_profile(profile),
        sans=tuple(parse_san(s) for s in sans),
        **kw,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("key_type", list(KeyType), ids=[k.value for k in KeyType])
def test_root_is_self_signed_ca_and_lints_clean(key_type: KeyType) -> None:
    root = self_signed_root(key_type)
    assert root.certificate is not None
    assert_signed_by(root.certificate, root.certificate)
    constraints = extension(root.certificate, x509.BasicConstraints)
    assert constraints.ca and constraints.path_length is None  # type: ignore[attr-defined]
    usage = extension(root.certificate, x509.KeyUsage)
    assert usage.key_cert_sign and usage.crl_sign  # type: ignore[attr-defined]
    with pytest.raises(x509.ExtensionNotFound):
        root.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    assert_lints_clean(root.certificate)


@pytest.mark.parametrize("profile", ["tls-server", "tls-client", "ocsp-responder"])
def test_leaf_carries_the_usual_extensions(profile: str) -> None:
    root = self_signed_root()
    cert = prepare(leaf_request(profile, sans=("DNS:www.example.com",)), root, SerialNumber(7), NOW).sign()
    assert_signed_by(cert, root.certificate)  # type: ignore[arg-type]
    assert cert.serial_number == 7
    cdp = extension(cert, x509.CRLDistributionPoints)
    assert cdp[0].full_name[0].value == URLS.crl  # type: ignore[index]
    aia = {d.access_method: d.access_location.value for d in extension(cert, x509.AuthorityInformationAccess)}  # type: ignore[attr-defined]
    assert aia[x509.AuthorityInformationAccessOID.OCSP] == URLS.ocsp
    assert aia[x509.AuthorityInformationAccessOID.CA_ISSUERS] == URLS.ca_issuers
    assert not extension(cert, x509.BasicConstraints).ca  # type: ignore[attr-defined]
    if profile == "ocsp-responder":
        assert extension(cert, x509.ExtendedKeyUsage) == x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING])
        extension(cert, x509.OCSPNoCheck)
    assert_lints_clean(cert)


def test_key_encipherment_only_for_rsa_keys() -> None:
    root = self_signed_root()
    ec_leaf = prepare(leaf_request("device"), root, SerialNumber(2), NOW).sign()
    assert not extension(ec_leaf, x509.KeyUsage).key_encipherment  # type: ignore[attr-defined]
    rsa_key = make_key("rsa-2048")
    request = CertificateRequest(
        parse_name("CN=r"), rsa_key.public_key(), builtin_profile("device"), sans=(x509.DNSName("r.example.com"),)
    )
    rsa_leaf = prepare(request, root, SerialNumber(3), NOW).sign()
    assert extension(rsa_leaf, x509.KeyUsage).key_encipherment  # type: ignore[attr-defined]


def test_validity_is_clamped_to_the_issuer() -> None:
    root = self_signed_root(days=30)
    cert = prepare(leaf_request(), root, SerialNumber(2), NOW).sign()
    assert cert.not_valid_after_utc == root.certificate.not_valid_after_utc  # type: ignore[union-attr]
    # the one-minute backdate stops at the issuer's own notBefore
    assert cert.not_valid_before_utc == root.certificate.not_valid_before_utc == NOW  # type: ignore[union-attr]


def test_leaf_is_backdated_one_minute_for_clock_skew() -> None:
    root = self_signed_root()
    cert = prepare(leaf_request(), root, SerialNumber(2), NOW + dt.timedelta(hours=1)).sign()
    assert cert.not_valid_before_utc == NOW + dt.timedelta(minutes=59)


def test_expired_issuer_cannot_issue() -> None:
    root = self_signed_root(days=1)
    with pytest.raises(Conflict, match="expired"):
        prepare(leaf_request(), root, SerialNumber(2), NOW + dt.timedelta(days=2))


def test_sign_exactly_once() -> None:
    prepared = prepare(leaf_request(), self_signed_root(), SerialNumber(2), NOW)
    prepared.sign()
    with pytest.raises(RuntimeError):
        prepared.sign()


@pytest.mark.parametrize(
    ("request_kwargs", "error"),
    [
        pytest.param({"sans": (), "subject": "C=DE"}, RejectedIdentifier, id="fail/tls-server-without-san"),
        pytest.param({"sans": ("email:a@example.com",)}, RejectedIdentifier, id="fail/email-in-tls-server"),
        pytest.param(
            {"sans": tuple(f"DNS:h{i}.example.com" for i in range(101))}, RejectedIdentifier, id="fail/too-many-sans"
        ),
        pytest.param({"validity": dt.timedelta(days=399)}, Malformed, id="fail/over-max-validity"),
        pytest.param({"validity": dt.timedelta(0)}, Malformed, id="fail/zero-validity"),
    ],
)
def test_profile_rules(request_kwargs: dict[str, object], error: type[CAError]) -> None:
    with pytest.raises(error):
        prepare(leaf_request(**request_kwargs), self_signed_root(), SerialNumber(2), NOW)  # type: ignore[arg-type]


def test_ip_addresses_are_allowed_in_tls_server() -> None:
    cert = prepare(
        leaf_request(sans=("DNS:www.example.com", "IP:192.0.2.1", "IP:2001:db8::1")),
        self_signed_root(),
        SerialNumber(2),
        NOW,
    ).sign()
    assert len(extension(cert, x509.SubjectAlternativeName)) == 3  # type: ignore[arg-type]
    assert_lints_clean(cert)


def test_wildcards_are_allowed_in_tls_server() -> None:
    # RFC 6125 §6.4.3 wildcards; pkilint's PKIX-only validator flags them (RFC 5280 has no
    # wildcard syntax), so this certificate is checked for content, not PKIX-linted.
    request = leaf_request(sans=("DNS:*.example.com",), subject="CN=*.example.com")
    cert = prepare(request, self_signed_root(), SerialNumber(2), NOW).sign()
    assert extension(cert, x509.SubjectAlternativeName) == x509.SubjectAlternativeName([x509.DNSName("*.example.com")])


@pytest.mark.parametrize(
    "name",
    [
        "*.com",
        "a.*.example.com",
        "**.example.com",
        "*example.com",
        "-a.example.com",
        "a_b.example.com",
        "EXAMPLE.com",
        "a..example.com",
        "x" * 64 + ".example.com",
    ],
)
def test_invalid_dns_names_are_refused(name: str) -> None:
    with pytest.raises((RejectedIdentifier, Malformed)):
        prepare(leaf_request(sans=(f"DNS:{name}",)), self_signed_root(), SerialNumber(2), NOW)


def test_empty_subject_makes_the_san_critical() -> None:
    key = make_key()
    request = CertificateRequest(
        x509.Name([]), key.public_key(), builtin_profile("tls-client"), sans=(x509.RFC822Name("a@example.com"),)
    )
    cert = prepare(request, self_signed_root(), SerialNumber(2), NOW).sign()
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical
    assert_lints_clean(cert)
    with pytest.raises(RejectedIdentifier):
        prepare(
            CertificateRequest(x509.Name([]), key.public_key(), builtin_profile("tls-client")),
            self_signed_root(),
            SerialNumber(3),
            NOW,
        )


def test_weak_keys_are_refused_at_prepare() -> None:
    weak = make_key("secp256k1")
    request = CertificateRequest(parse_name("CN=x"), weak.public_key(), builtin_profile("tls-client"))
    with pytest.raises(BadPublicKey):
        prepare(request, self_signed_root(), SerialNumber(2), NOW)


def sub_ca_request(path_length: int | None = None) -> CertificateRequest:
    key = make_key()
    return CertificateRequest(
        parse_name("CN=Sub"), key.public_key(), builtin_profile("sub-ca"), path_length=path_length
    )


@pytest.mark.parametrize(
    ("root_path_length", "requested", "expected"),
    [
        pytest.param(None, None, None, id="ok/unconstrained"),
        pytest.param(None, 0, 0, id="ok/explicit-zero"),
        pytest.param(2, None, 1, id="ok/inherits-one-less"),
        pytest.param(2, 1, 1, id="ok/within"),
    ],
)
def test_path_length(root_path_length: int | None, requested: int | None, expected: int | None) -> None:
    root = self_signed_root(path_length=root_path_length)
    cert = prepare(sub_ca_request(requested), root, SerialNumber(2), NOW).sign()
    assert extension(cert, x509.BasicConstraints).path_length == expected  # type: ignore[attr-defined]
    assert_lints_clean(cert)


@pytest.mark.parametrize(
    ("root_path_length", "requested"),
    [pytest.param(0, None, id="fail/root-allows-no-sub-ca"), pytest.param(1, 1, id="fail/more-than-allowed")],
)
def test_path_length_refused(root_path_length: int, requested: int | None) -> None:
    root = self_signed_root(path_length=root_path_length)
    with pytest.raises(Conflict):
        prepare(sub_ca_request(requested), root, SerialNumber(2), NOW)


def test_facts_match_the_certificate() -> None:
    prepared = prepare(
        leaf_request(sans=("DNS:www.example.com", "IP:192.0.2.7")), self_signed_root(), SerialNumber(99), NOW
    )
    cert = prepared.sign()
    facts = prepared.facts
    assert facts.serial.value == cert.serial_number == 99
    assert facts.subject == cert.subject.rfc4514_string() == "CN=www.example.com"
    assert facts.sans == ("DNS:www.example.com", "IP:192.0.2.7")
    assert (facts.not_before, facts.not_after) == (cert.not_valid_before_utc, cert.not_valid_after_utc)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "www.example.com"


@pytest.mark.parametrize("key_type", ["rsa-2048", "rsa-4096", "ec-p256", "ec-p521", "ed25519"])
def test_key_identifiers_match_pyca(key_type: str) -> None:
    public_key = make_key(key_type).public_key()
    identifiers = key_identifiers(public_key)
    assert identifiers.key_identifier == x509.SubjectKeyIdentifier.from_public_key(public_key).digest
    assert identifiers.sha256 == public_key_sha256(public_key)


@pytest.mark.parametrize("spki", [b"", b"\x30", b"\x31\x00", b"\x30\x03\x02\x01\x00", b"\x30\x85\xff\xff\xff\xff\xff"])
def test_subject_public_key_refuses_what_is_not_an_spki(spki: bytes) -> None:
    with pytest.raises((ValueError, IndexError)):
        subject_public_key(spki)
