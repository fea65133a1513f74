"""Each rule a profile holds a request to (issue sections 2 and 3), applied by ``prepare``.

Table-driven: ``ok/...`` cases build a certificate and check what the rule put in
it; ``fail/...`` cases are refused with an error naming the field and the rule.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from chancery.domain.keytypes import KeyType
from chancery.domain.serials import SerialNumber
from chancery.errors import BadPublicKey, CAError, Conflict, Malformed, RejectedIdentifier
from chancery.pki.issuer import CertificateRequest, Signer, prepare
from chancery.pki.names import parse_name
from chancery.pki.profiles import Profile, compile_profile, compile_subject, load_document
from chancery.pki.sans import parse_san
from chancery.pki.spki import subject_public_key
from tests.support.csrs import make_key
from tests.support.lint import assert_lints_clean
from tests.unit.pki.test_issuer import NOW, self_signed_root

BASE: dict[str, Any] = {
    "name": "rules",
    "validity": {"default": "30d", "max": "90d", "backdate": "2m"},
    "key_usage": {"critical": True, "usages": ["digital_signature", "key_encipherment"]},
    "extended_key_usage": {"critical": False, "usages": ["client_auth"]},
    "sans": {"types": {"DNS": {}, "IP": {}, "email": {}, "URI": {}, "UPN": {}}},
}
CA: dict[str, Any] = {
    **BASE,
    "kind": "ca",
    "key_usage": {"critical": True, "usages": ["digital_signature", "key_cert_sign", "crl_sign"]},
    "extended_key_usage": None,
    "sans": {"max": 0},
}
_KEYS: dict[str, Any] = {}
LATER = NOW + dt.timedelta(days=1)  # the root's notBefore is NOW: leaves are made later, so nothing is clamped


@pytest.fixture(scope="module")
def root() -> Signer:
    return self_signed_root(KeyType.EC_P256, path_length=2)


def key(kind: str = "ec-p256") -> Any:
    """Keys are expensive (RSA): one per kind for the whole module."""
    if kind not in _KEYS:
        _KEYS[kind] = make_key(kind)
    return _KEYS[kind]


def profile(base: dict[str, Any] = BASE, **changes: Any) -> Profile:
    document = copy.deepcopy(base)
    document.update(changes)
    document = {k: v for k, v in document.items() if v is not None}
    return compile_profile(load_document(document), 1)  # type: ignore[arg-type]


def build(
    root: Signer,
    rules: Profile,
    subject: str = "CN=host.example.com",
    sans: tuple[str, ...] = (),
    key_kind: str = "ec-p256",
    **request: Any,
) -> x509.Certificate:
    wanted = CertificateRequest(
        parse_name(subject) if subject else x509.Name([]),
        key(key_kind).public_key(),
        rules,
        sans=tuple(parse_san(s) for s in sans),
        **request,
    )
    return prepare(wanted, root, SerialNumber(0x1234567890ABCDEF), LATER).sign()


def ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[Any]:
    return cert.extensions.get_extension_for_class(kind)


def sans_of(cert: x509.Certificate) -> list[str]:
    try:
        names = ext(cert, x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [f"{type(n).__name__}:{n.value}" for n in names]


def expect_refusal(error: type[CAError], says: str, call: Callable[[], object]) -> CAError:
    with pytest.raises(error) as refused:
        call()
    text = refused.value.detail + " " + " ".join(f"{e.identifier}: {e.detail}" for e in refused.value.sub_errors)
    assert says in text, text
    return refused.value


# -- section 2: keys --------------------------------------------------------------------------

KEY_RULES = [{"algorithm": "rsa", "min_bits": 3072, "max_bits": 4096}, {"algorithm": "ec", "curves": ["P-384"]}]


@pytest.mark.parametrize(
    ("key_kind", "keys", "error"),
    [
        pytest.param("rsa-3072", KEY_RULES, None, id="ok/rsa-within-range"),
        pytest.param("ec-p384", KEY_RULES, None, id="ok/allowed-curve"),
        pytest.param("ed25519", [], None, id="ok/no-key-rules-any-allowed-key"),
        pytest.param("rsa-2048", KEY_RULES, "allows RSA keys of 3072-4096 bits, not 2048", id="fail/rsa-too-short"),
        pytest.param("ec-p256", KEY_RULES, "allows EC keys on P-384, not P-256", id="fail/curve-not-allowed"),
        pytest.param("ed25519", KEY_RULES, "does not allow ed25519 keys", id="fail/algorithm-not-allowed"),
    ],
)
def test_key_rules(root: Signer, key_kind: str, keys: list[dict[str, Any]], error: str | None) -> None:
    rules = profile(keys=keys)
    if error is None:
        assert build(root, rules, key_kind=key_kind).public_key() == key(key_kind).public_key()
    else:
        expect_refusal(BadPublicKey, error, lambda: build(root, rules, key_kind=key_kind))


# -- section 2: validity and backdating ---------------------------------------------------------


@pytest.mark.parametrize(
    ("validity", "error", "days"),
    [
        pytest.param(None, None, 30, id="ok/default-validity"),
        pytest.param(dt.timedelta(days=90), None, 90, id="ok/maximum-validity"),
        pytest.param(
            dt.timedelta(days=91), "exceeds the maximum of profile rules (90 days)", 0, id="fail/over-maximum"
        ),
    ],
)
def test_validity_rules(root: Signer, validity: dt.timedelta | None, error: str | None, days: int) -> None:
    rules = profile()
    if error is not None:
        expect_refusal(Malformed, error, lambda: build(root, rules, validity=validity))
        return
    cert = build(root, rules, validity=validity)
    assert cert.not_valid_after_utc == LATER + dt.timedelta(days=days)
    assert cert.not_valid_before_utc == LATER - dt.timedelta(minutes=2)  # the backdate allowance


# -- section 2: keyUsage, extendedKeyUsage, basicConstraints -------------------------------------


@pytest.mark.parametrize(
    ("changes", "key_kind", "check"),
    [
        pytest.param(
            {}, "rsa-2048", lambda c: ext(c, x509.KeyUsage).value.key_encipherment, id="ok/rsa-key-encipherment"
        ),
        pytest.param(
            {}, "ec-p256", lambda c: not ext(c, x509.KeyUsage).value.key_encipherment, id="ok/ec-no-key-encipherment"
        ),
        pytest.param({}, "ec-p256", lambda c: ext(c, x509.KeyUsage).critical, id="ok/key-usage-critical"),
        pytest.param(
            {"key_usage": {"critical": False, "usages": ["digital_signature"]}},
            "ec-p256",
            lambda c: not ext(c, x509.KeyUsage).critical,
            id="ok/key-usage-not-critical",
        ),
        pytest.param(
            {"extended_key_usage": {"critical": True, "usages": ["server_auth", "1.3.6.1.5.5.7.3.17"]}},
            "ec-p256",
            lambda c: (
                ext(c, x509.ExtendedKeyUsage).critical
                and [o.dotted_string for o in ext(c, x509.ExtendedKeyUsage).value]
                == ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.17"]
            ),
            id="ok/extended-key-usage-critical-by-name-and-oid",
        ),
        pytest.param(
            {"extended_key_usage": None},
            "ec-p256",
            lambda c: x509.ExtendedKeyUsage.oid not in {e.oid for e in c.extensions},
            id="ok/no-extended-key-usage",
        ),
    ],
)
def test_usage_rules(
    root: Signer, changes: dict[str, Any], key_kind: str, check: Callable[[x509.Certificate], bool]
) -> None:
    assert check(build(root, profile(**changes), key_kind=key_kind))


@pytest.mark.parametrize(
    ("profile_default", "requested", "expected"),
    [
        pytest.param(None, None, 1, id="ok/ca-path-length-below-issuer"),
        pytest.param(0, None, 0, id="ok/ca-path-length-from-profile"),
        pytest.param(5, None, 1, id="ok/profile-default-capped-by-issuer"),
        pytest.param(None, 0, 0, id="ok/requested-path-length"),
        pytest.param(None, 2, Conflict, id="fail/path-length-beyond-issuer"),
    ],
)
def test_basic_constraints_rules(
    root: Signer, profile_default: int | None, requested: int | None, expected: Any
) -> None:
    rules = profile(CA, path_length=profile_default)
    if expected is Conflict:
        expect_refusal(
            Conflict, "exceeds what the issuing CA allows", lambda: build(root, rules, path_length=requested)
        )
        return
    cert = build(root, rules, subject="CN=Sub CA", path_length=requested)
    constraints = ext(cert, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == expected
    assert_lints_clean(cert)


# -- section 2: subject alternative names ---------------------------------------------------------


def san_profile(**types: Any) -> Profile:
    return profile(sans={"max": 3, "types": types})


@pytest.mark.parametrize(
    ("rules", "sans", "error"),
    [
        pytest.param({"DNS": {}}, ("DNS:a.example.com",), None, id="ok/dns-allowed"),
        pytest.param({"DNS": {}}, ("IP:10.0.0.1",), "does not allow IP names", id="fail/ip-where-only-dns"),
        pytest.param(
            {"DNS": {}}, ("email:a@example.com",), "does not allow email names", id="fail/email-where-only-dns"
        ),
        pytest.param(
            {"DNS": {"regex": r"[a-z0-9-]+\.svc\.example\.com"}}, ("DNS:api.svc.example.com",), None, id="ok/dns-regex"
        ),
        pytest.param(
            {"DNS": {"regex": r"[a-z0-9-]+\.svc\.example\.com"}},
            ("DNS:api.example.com",),
            "does not match",
            id="fail/dns-regex",
        ),
        pytest.param(
            {"DNS": {"allow": ["example.com"]}}, ("DNS:www.example.com",), None, id="ok/dns-under-allowed-domain"
        ),
        pytest.param({"DNS": {"allow": ["example.com"]}}, ("DNS:example.com",), None, id="ok/dns-is-allowed-domain"),
        pytest.param(
            {"DNS": {"allow": ["example.com"]}},
            ("DNS:badexample.com",),
            "outside the domains",
            id="fail/dns-suffix-trick",
        ),
        pytest.param(
            {"DNS": {"allow": ["example.com"], "deny": ["corp.example.com"]}},
            ("DNS:hr.corp.example.com",),
            "in a domain profile rules@1 denies",
            id="fail/dns-denied-subdomain",
        ),
        pytest.param({"DNS": {"wildcards": True}}, ("DNS:*.example.com",), None, id="ok/wildcard-allowed"),
        pytest.param(
            {"DNS": {"wildcards": False}}, ("DNS:*.example.com",), "does not allow wildcard", id="fail/wildcard"
        ),
        pytest.param(
            {"DNS": {"deny": ["example.com"]}}, ("DNS:*.example.com",), "denies", id="fail/wildcard-in-denied-domain"
        ),
        pytest.param({"IP": {"allow": ["10.0.0.0/8"]}}, ("IP:10.1.2.3",), None, id="ok/ip-in-allowed-network"),
        pytest.param(
            {"IP": {"allow": ["10.0.0.0/8"]}}, ("IP:192.0.2.1",), "outside the networks", id="fail/ip-outside"
        ),
        pytest.param(
            {"IP": {"allow": ["10.0.0.0/8"], "deny": ["10.9.0.0/16"]}},
            ("IP:10.9.0.1",),
            "in a network profile rules@1 denies",
            id="fail/ip-in-denied-network",
        ),
        pytest.param(
            {"IP": {"allow": ["10.0.0.0/8"]}}, ("IP:::1",), "outside the networks", id="fail/ipv6-vs-ipv4-network"
        ),
        pytest.param({"email": {"allow": ["example.com"]}}, ("email:a@example.com",), None, id="ok/email-domain"),
        pytest.param(
            {"email": {"allow": ["example.com"]}}, ("email:a@evil.test",), "outside the domains", id="fail/email-domain"
        ),
        pytest.param({"UPN": {"allow": ["corp.example.com"]}}, ("UPN:alice@corp.example.com",), None, id="ok/upn"),
        pytest.param(
            {"UPN": {"allow": ["corp.example.com"]}},
            ("UPN:alice@other.example",),
            "outside the domains",
            id="fail/upn-domain",
        ),
        pytest.param(
            {"URI": {"regex": r"spiffe://example\.org/.+"}}, ("URI:spiffe://example.org/web",), None, id="ok/uri"
        ),
        pytest.param(
            {"URI": {"regex": r"spiffe://example\.org/.+"}}, ("URI:https://x.test/",), "does not match", id="fail/uri"
        ),
        pytest.param(
            {"DNS": {}},
            ("DNS:a.example.com", "DNS:b.example.com", "DNS:c.example.com", "DNS:d.example.com"),
            "allows at most 3",
            id="fail/too-many-names",
        ),
    ],
)
def test_san_rules(root: Signer, rules: dict[str, Any], sans: tuple[str, ...], error: str | None) -> None:
    checked = san_profile(**rules)
    if error is not None:
        expect_refusal(RejectedIdentifier, error, lambda: build(root, checked, subject="", sans=sans))
        return
    cert = build(root, checked, subject="", sans=sans)
    assert len(sans_of(cert)) == len(sans)
    assert ext(cert, x509.SubjectAlternativeName).critical  # the subject is empty (RFC 5280 §4.2.1.6)


def test_upn_is_an_other_name_holding_a_utf8_string(root: Signer) -> None:
    cert = build(root, san_profile(UPN={}), subject="", sans=("UPN:alice@corp.example.com",))
    (name,) = ext(cert, x509.SubjectAlternativeName).value
    assert isinstance(name, x509.OtherName) and name.type_id.dotted_string == "1.3.6.1.4.1.311.20.2.3"
    assert name.value == b"\x0c\x16alice@corp.example.com"


@pytest.mark.parametrize(
    ("subject", "sans", "expected"),
    [
        pytest.param("CN=www.example.com", (), ["DNSName:www.example.com"], id="ok/cn-copied-as-dns"),
        pytest.param("CN=10.0.0.7", (), ["IPAddress:10.0.0.7"], id="ok/cn-copied-as-ip"),
        pytest.param(
            "CN=www.example.com", ("DNS:www.example.com",), ["DNSName:www.example.com"], id="ok/cn-already-a-san"
        ),
        pytest.param(
            "CN=Web Server", ("DNS:a.example.com",), ["DNSName:a.example.com"], id="ok/cn-not-a-name-left-alone"
        ),
    ],
)
def test_common_name_copied_into_sans(root: Signer, subject: str, sans: tuple[str, ...], expected: list[str]) -> None:
    rules = profile(sans={"copy_common_name": True, "types": {"DNS": {}, "IP": {}}})
    assert sans_of(build(root, rules, subject=subject, sans=sans)) == expected


def test_required_sans(root: Signer) -> None:
    rules = profile(sans={"required": True, "types": {"DNS": {}}})
    expect_refusal(RejectedIdentifier, "needs at least one subject alternative name (DNS)", lambda: build(root, rules))


# -- section 2: extensions from the request and from the profile ---------------------------------

REQUESTED = x509.Extension(
    x509.ObjectIdentifier("1.3.6.1.4.1.99999.7"),
    False,
    x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.7"), b"\x05\x00"),
)
STAPLE = x509.Extension(x509.TLSFeature.oid, False, x509.TLSFeature([x509.TLSFeatureType.status_request]))


@pytest.mark.parametrize(
    ("changes", "requested", "present", "absent"),
    [
        pytest.param(
            {"pass_through": ["1.3.6.1.4.1.99999.7"]},
            (REQUESTED,),
            "1.3.6.1.4.1.99999.7",
            None,
            id="ok/allowed-oid-copied",
        ),
        pytest.param({}, (REQUESTED,), None, "1.3.6.1.4.1.99999.7", id="ok/unlisted-oid-dropped"),
        pytest.param(
            {"pass_through": ["1.3.6.1.5.5.7.1.24"]},
            (STAPLE,),
            "1.3.6.1.5.5.7.1.24",
            None,
            id="ok/must-staple-on-request",
        ),
    ],
)
def test_requested_extensions_pass_through_only_when_allowed(
    root: Signer,
    changes: dict[str, Any],
    requested: tuple[x509.Extension[Any], ...],
    present: str | None,
    absent: str | None,
) -> None:
    cert = build(root, profile(**changes), extensions=requested)
    oids = [e.oid.dotted_string for e in cert.extensions]
    assert (present is None or present in oids) and (absent is None or absent not in oids)
    assert len(oids) == len(set(oids))


def test_a_fixed_extension_wins_over_a_requested_one(root: Signer) -> None:
    rules = profile(
        pass_through=["1.3.6.1.4.1.99999.7"], extensions={"custom": [{"oid": "1.3.6.1.4.1.99999.7", "value": "0101ff"}]}
    )
    cert = build(root, rules, extensions=(REQUESTED,))
    values = [e.value.value for e in cert.extensions if e.oid.dotted_string == "1.3.6.1.4.1.99999.7"]
    assert values == [b"\x01\x01\xff"]


@pytest.mark.parametrize(
    ("base", "extensions", "check"),
    [
        pytest.param(
            BASE,
            {
                "certificate_policies": [
                    {"oid": "1.3.6.1.4.1.99999.1.1", "cps": ["https://pki.example/cps"], "notice": "Internal use"}
                ]
            },
            lambda c: (
                (p := ext(c, x509.CertificatePolicies).value[0]).policy_identifier.dotted_string
                == "1.3.6.1.4.1.99999.1.1"
                and p.policy_qualifiers[0] == "https://pki.example/cps"
                and p.policy_qualifiers[1].explicit_text == "Internal use"
            ),
            id="ok/certificate-policies-with-cps-and-notice",
        ),
        pytest.param(
            CA,
            {
                "name_constraints": {
                    "permitted": ["DNS:example.com", "IP:10.0.0.0/8"],
                    "excluded": ["DNS:hr.example.com"],
                }
            },
            lambda c: (
                ext(c, x509.NameConstraints).critical
                and [n.value for n in ext(c, x509.NameConstraints).value.permitted_subtrees][0] == "example.com"
            ),
            id="ok/name-constraints-in-ca",
        ),
        pytest.param(
            BASE, {"ocsp_no_check": True}, lambda c: ext(c, x509.OCSPNoCheck) is not None, id="ok/ocsp-no-check"
        ),
        pytest.param(
            BASE,
            {"must_staple": True},
            lambda c: list(ext(c, x509.TLSFeature).value) == [x509.TLSFeatureType.status_request],
            id="ok/must-staple",
        ),
        pytest.param(
            BASE,
            {"custom": [{"oid": "1.3.6.1.4.1.311.20.2", "value": "1e080055007300650072"}]},
            lambda c: (
                c.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2")).value.value
                == "User".encode("utf-16-be").join([b"\x1e\x08", b""])
            ),
            id="ok/custom-der-verbatim",
        ),
    ],
)
def test_fixed_extensions(
    root: Signer, base: dict[str, Any], extensions: dict[str, Any], check: Callable[[x509.Certificate], bool]
) -> None:
    cert = build(root, profile(base, extensions=extensions), subject="CN=Named")
    assert check(cert)
    assert_lints_clean(cert)


# -- section 2: subject key identifier and signature hash ----------------------------------------


@pytest.mark.parametrize("method", ["sha1", "sha256", "none"])
def test_subject_key_identifier_methods(root: Signer, method: str) -> None:
    cert = build(root, profile(subject_key_identifier=method))
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    bits = subject_public_key(spki)
    if method == "none":
        with pytest.raises(x509.ExtensionNotFound):
            ext(cert, x509.SubjectKeyIdentifier)
        return
    expected = hashlib.sha1(bits).digest() if method == "sha1" else hashlib.sha256(bits).digest()[:20]  # RFC 7093 §2
    assert ext(cert, x509.SubjectKeyIdentifier).value.digest == expected


def test_signature_hash_of_the_profile(root: Signer) -> None:
    assert isinstance(build(root, profile()).signature_hash_algorithm, hashes.SHA256)
    assert isinstance(build(root, profile(signature_hash="sha384")).signature_hash_algorithm, hashes.SHA384)
    ed_root = self_signed_root(KeyType.ED25519)
    assert (
        build(ed_root, profile(signature_hash="sha384")).signature_hash_algorithm is None
    )  # EdDSA: no hash (RFC 8410)


# -- section 3: subject-DN rules -----------------------------------------------------------------

DN_RULES = [
    {"attribute": "C", "syntax": "printable", "regex": "[A-Z]{2}"},
    {"attribute": "O", "value": "Example Corp"},
    {"attribute": "OU", "max": 2, "max_length": 20},
    {"attribute": "L", "default": "Berlin"},
    {"attribute": "2.5.4.97", "syntax": "printable"},  # organizationIdentifier, by dotted OID
    {"attribute": "EMAIL"},
    {"attribute": "CN", "required": True, "syntax": "printable"},
]


def dn_profile(rules: list[dict[str, Any]] = DN_RULES) -> Profile:
    return profile(subject={"rules": rules})


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        pytest.param(
            "CN=host,C=DE", "CN=host,L=Berlin,O=Example Corp,C=DE", id="ok/fixed-and-default-added-in-rule-order"
        ),
        pytest.param("CN=host,O=Example Corp", "CN=host,L=Berlin,O=Example Corp", id="ok/fixed-value-repeated"),
        pytest.param("CN=host,L=Hamburg", "CN=host,L=Hamburg,O=Example Corp", id="ok/request-overrides-default"),
        pytest.param(
            "CN=host,OU=b,OU=a", "CN=host,L=Berlin,OU=b,OU=a,O=Example Corp", id="ok/two-ous-in-request-order"
        ),
        pytest.param(
            "CN=host,2.5.4.97=VATDE-123",
            "CN=host,2.5.4.97=VATDE-123,L=Berlin,O=Example Corp",
            id="ok/attribute-by-dotted-oid",
        ),
    ],
)
def test_subject_rules_shape_the_subject(root: Signer, subject: str, expected: str) -> None:
    cert = build(root, dn_profile(), subject=subject)
    assert cert.subject.rfc4514_string() == expected


@pytest.mark.parametrize(
    ("subject", "field", "rule"),
    [
        pytest.param("CN=host,ST=Bavaria", "subject.ST", "not allowed", id="fail/forbidden-rdn"),
        pytest.param("C=DE", "subject.CN", "required", id="fail/required-rdn-missing"),
        pytest.param("CN=h,OU=a,OU=b,OU=c", "subject.OU", "at most 2 allowed, 3 given", id="fail/too-many-occurrences"),
        pytest.param("CN=h,OU=" + "x" * 21, "subject.OU", "longer than 20 characters", id="fail/over-rule-length"),
        pytest.param(
            "CN=h,L=" + "x" * 129, "subject.L", "longer than 128 characters", id="fail/over-rfc5280-upper-bound"
        ),
        pytest.param("CN=h,C=de", "subject.C", "does not match", id="fail/regex"),
        pytest.param("CN=host_1", "subject.CN", "is not a PrintableString", id="fail/wrong-string-type"),
        pytest.param(
            "CN=h,emailAddress=jürgen@example.com", "subject.EMAIL", "not an IA5String", id="fail/email-not-ia5"
        ),
        pytest.param("CN=h,O=Other Corp", "subject.O", "is fixed", id="fail/fixed-value-different"),
    ],
)
def test_subject_rules_refuse_with_the_rdn_and_the_rule(root: Signer, subject: str, field: str, rule: str) -> None:
    error = expect_refusal(RejectedIdentifier, rule, lambda: build(root, dn_profile(), subject=subject))
    assert field in {e.identifier for e in error.sub_errors}


def test_subject_rules_need_a_minimum_and_refuse_request_values_when_told(root: Signer) -> None:
    rules = [
        {"attribute": "OU", "min": 2, "max": 3},
        {"attribute": "O", "default": "Ours", "from_request": False},
        {"attribute": "CN"},
    ]
    expect_refusal(
        RejectedIdentifier, "subject.OU: at least 2 needed", lambda: build(root, dn_profile(rules), subject="CN=x,OU=a")
    )
    expect_refusal(
        RejectedIdentifier,
        "subject.O: may not come from the request",
        lambda: build(root, dn_profile(rules), subject="CN=x,OU=a,OU=b,O=Theirs"),
    )
    assert build(root, dn_profile(rules), subject="CN=x,OU=a,OU=b").subject.rfc4514_string() == "CN=x,O=Ours,OU=a,OU=b"


def test_string_syntax_of_each_attribute_is_encoded_as_the_rule_says(root: Signer) -> None:
    cert = build(
        root, dn_profile(), subject="CN=host,C=DE,emailAddress=ops@example.com,OU=Ops", sans=("email:ops@example.com",)
    )
    tags = {a.oid: a._type for a in cert.subject}
    assert tags[NameOID.COUNTRY_NAME].name == "PrintableString"
    assert tags[NameOID.COMMON_NAME].name == "PrintableString"
    assert tags[NameOID.EMAIL_ADDRESS].name == "IA5String"
    assert tags[NameOID.ORGANIZATIONAL_UNIT_NAME].name == "UTF8String"
    assert_lints_clean(cert)


def test_subject_profiles_are_rules_too(root: Signer) -> None:
    subject = compile_subject(load_document({"name": "dn", "kind": "subject", "rules": [{"attribute": "CN"}]}), "dn", 4)  # type: ignore[arg-type]
    config = load_document({**BASE, "subject_profile": "dn"})
    rules = compile_profile(config, 2, subject)  # type: ignore[arg-type]
    error = expect_refusal(
        RejectedIdentifier, "subject refused by profile dn", lambda: build(root, rules, subject="CN=h,O=x")
    )
    assert error.sub_errors[0].identifier == "subject.O"


def test_without_subject_rules_the_request_subject_is_kept_within_rfc5280_bounds(root: Signer) -> None:
    assert (
        build(root, profile(), subject="CN=host,O=Anything,ST=X").subject.rfc4514_string() == "CN=host,O=Anything,ST=X"
    )
    expect_refusal(
        RejectedIdentifier, "longer than 64 characters", lambda: build(root, profile(), subject="O=" + "o" * 65)
    )
