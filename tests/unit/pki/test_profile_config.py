"""Profile files: parsing (hostile YAML included) and validation, every problem named by field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chancery.errors import Malformed, PayloadTooLarge
from chancery.pki.lint import LintSet
from chancery.pki.profiles import (
    InvalidProfile,
    LintMode,
    ProfileConfig,
    SubjectProfileConfig,
    builtin_documents,
    builtin_profiles,
    compile_profile,
    compile_subject,
    dump_profile,
    load_document,
    parse_profile_text,
)
from chancery.pki.profiles.files import MAX_PROFILE_BYTES
from chancery.pki.profiles.model import ProfileKind

BASE: dict[str, Any] = {
    "name": "custom",
    "validity": {"default": "30d", "max": "90d"},
    "key_usage": {"critical": True, "usages": ["digital_signature"]},
}
CA_BASE: dict[str, Any] = {
    **BASE,
    "kind": "ca",
    "key_usage": {"critical": True, "usages": ["digital_signature", "key_cert_sign", "crl_sign"]},
}


def document(base: dict[str, Any] = BASE, **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(base)
    result.update(changes)
    return result


def problems(raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidProfile) as refused:
        load_document(raw)
    return {e.identifier: e.detail for e in refused.value.sub_errors}


@pytest.mark.parametrize(
    ("raw", "field", "says"),
    [
        pytest.param(document(bogus=1), "bogus", "Extra inputs", id="fail/unknown-key"),
        pytest.param(
            document(validity={"default": "1d", "max": "2d", "extra": 1}),
            "validity.extra",
            "Extra inputs",
            id="fail/unknown-nested-key",
        ),
        pytest.param(
            document(extended_key_usage={"critical": False, "usages": ["1.2.x"]}),
            "extended_key_usage.usages",
            "unknown usage '1.2.x'",
            id="fail/bad-eku-oid",
        ),
        pytest.param(
            document(extensions={"certificate_policies": [{"oid": "2.23.140.1.2.1."}]}),
            "extensions.certificate_policies.0.oid",
            "not a dotted OID",
            id="fail/bad-policy-oid",
        ),
        pytest.param(
            document(pass_through=["x.y"]), "pass_through.0", "not a dotted OID", id="fail/bad-pass-through-oid"
        ),
        pytest.param(
            document(pass_through=["2.5.29.17"]), "pass_through", "cannot pass through", id="fail/managed-pass-through"
        ),
        pytest.param(
            document(extensions={"custom": [{"oid": "1.2.3.4", "value": "zz"}]}),
            "extensions.custom.0.value",
            "hexadecimal",
            id="fail/custom-value-not-hex",
        ),
        pytest.param(
            document(extensions={"custom": [{"oid": "2.5.29.19", "value": "3000"}]}),
            "extensions",
            "built by Chancery",
            id="fail/custom-managed-extension",
        ),
        pytest.param(
            document(extensions={"must_staple": True, "custom": [{"oid": "1.3.6.1.5.5.7.1.24", "value": "3000"}]}),
            "extensions",
            "given twice",
            id="fail/custom-twice",
        ),
        pytest.param(
            document(sans={"types": {"DNS": {"regex": "([a-z"}}}),
            "sans.types.DNS.regex",
            "regex does not compile",
            id="fail/san-regex-does-not-compile",
        ),
        pytest.param(
            document(subject={"rules": [{"attribute": "CN", "regex": "*x"}]}),
            "subject.rules.0.regex",
            "regex does not compile",
            id="fail/rdn-regex-does-not-compile",
        ),
        pytest.param(
            document(validity={"default": "91d", "max": "90d"}), "validity", "at most max", id="fail/default-over-max"
        ),
        pytest.param(
            document(validity={"default": "1d", "max": "40000d"}), "validity", "100 years", id="fail/max-over-100-years"
        ),
        pytest.param(
            document(validity={"default": "1d", "max": "2d", "backdate": "2d"}),
            "validity",
            "1 day",
            id="fail/long-backdate",
        ),
        pytest.param(
            document(validity={"default": "90x", "max": "90d"}),
            "validity.default",
            "not a duration",
            id="fail/bad-duration",
        ),
        pytest.param(
            document(key_usage={"critical": True, "usages": ["signing"]}),
            "key_usage.usages.0",
            "digital_signature",
            id="fail/unknown-key-usage",
        ),
        pytest.param(
            document(kind="ca"), "key_usage.usages", "key_cert_sign is required", id="fail/ca-without-key-cert-sign"
        ),
        pytest.param(
            document(key_usage={"critical": True, "usages": ["key_cert_sign"]}),
            "key_usage.usages",
            "only for them",
            id="fail/leaf-with-key-cert-sign",
        ),
        pytest.param(document(path_length=1), "path_length", "only CA profiles", id="fail/leaf-path-length"),
        pytest.param(
            document(CA_BASE, path_length=17), "path_length", "less than or equal to 16", id="fail/path-length-too-big"
        ),
        pytest.param(
            document(CA_BASE, subject_key_identifier="none"),
            "subject_key_identifier",
            "RFC 5280",
            id="fail/ca-without-subject-key-identifier",
        ),
        pytest.param(
            document(subject_key_identifier="md5"), "subject_key_identifier", "sha1", id="fail/unknown-ski-method"
        ),
        pytest.param(
            document(subject={"rules": [{"attribute": "CN"}]}, subject_profile="organisation"),
            "subject",
            "not both",
            id="fail/subject-rules-and-subject-profile",
        ),
        pytest.param(
            document(extensions={"name_constraints": {"permitted": ["DNS:example.com"]}}),
            "extensions.name_constraints",
            "CA profiles",
            id="fail/name-constraints-on-leaf",
        ),
        pytest.param(
            document(CA_BASE, extensions={"name_constraints": {}}),
            "extensions.name_constraints",
            "permitted or excluded",
            id="fail/empty-name-constraints",
        ),
        pytest.param(
            document(CA_BASE, extensions={"name_constraints": {"permitted": ["DNS:-bad-.example"]}}),
            "extensions.name_constraints.permitted",
            "invalid DNS name",
            id="fail/bad-subtree",
        ),
        pytest.param(
            document(CA_BASE, extensions={"name_constraints": {"excluded": ["IP:10.0.0.1/8"]}}),
            "extensions.name_constraints.excluded",
            "invalid network",
            id="fail/subtree-network-with-host-bits",
        ),
        pytest.param(document(sans={"required": True}), "sans", "no SAN type", id="fail/required-san-without-types"),
        pytest.param(
            document(sans={"types": {"IP": {"allow": ["10.0.0.0/33"]}}}),
            "sans",
            "not an IP network",
            id="fail/bad-network",
        ),
        pytest.param(
            document(sans={"types": {"X400": {}}}),
            "sans.types.X400.[key]",
            "Input should be",
            id="fail/unknown-san-type",
        ),
        pytest.param(
            document(subject={"rules": [{"attribute": "OU", "min": 3, "max": 2}]}),
            "subject.rules.0",
            "min is larger than max",
            id="fail/rdn-min-over-max",
        ),
        pytest.param(
            document(subject={"rules": [{"attribute": "O", "from_request": False}]}),
            "subject.rules.0",
            "needs a value",
            id="fail/rdn-not-from-request-without-value",
        ),
        pytest.param(
            document(subject={"rules": [{"attribute": "FAVOURITE_COLOUR"}]}),
            "subject.rules.0.attribute",
            "not a dotted OID",
            id="fail/unknown-attribute",
        ),
        pytest.param(
            document(subject={"rules": [{"attribute": "CN", "syntax": "teletex"}]}),
            "subject.rules.0.syntax",
            "utf8",
            id="fail/unknown-string-syntax",
        ),
        pytest.param(document(name="Bad Name"), "name", "pattern", id="fail/bad-name"),
        pytest.param(document(cas=["Not A CA"]), "cas", "not a CA name", id="fail/bad-ca-name"),
        pytest.param(
            document(keys=[{"algorithm": "rsa", "min_bits": 1024}]), "keys.0.min_bits", "2048", id="fail/rsa-below-2048"
        ),
        pytest.param(document(keys=[{"algorithm": "dsa"}]), "keys.0.algorithm", "rsa", id="fail/unknown-key-algorithm"),
        pytest.param(
            document(keys=[{"algorithm": "ec", "curves": ["secp256k1"]}]),
            "keys.0.curves.0",
            "P-256",
            id="fail/unknown-curve",
        ),
        pytest.param(
            document(lint={"sample_rate": 2}), "lint.sample_rate", "less than or equal to 1", id="fail/sample-rate"
        ),
        pytest.param(
            document(lint={"validators": ["zlint"]}), "lint.validators.0", "pkix", id="fail/unknown-validator"
        ),
        pytest.param(
            document(lint={"accept": [{"code": "x"}]}),
            "lint.accept.0.reason",
            "Field required",
            id="fail/accept-without-reason",
        ),
        pytest.param(document(signature_hash="md5"), "signature_hash", "sha256", id="fail/weak-signature-hash"),
        pytest.param(
            {"name": "s", "kind": "subject", "rules": []},
            "rules",
            "at least 1",
            id="fail/subject-profile-without-rules",
        ),
        pytest.param(
            {k: v for k, v in BASE.items() if k != "validity"}, "validity", "Field required", id="fail/missing-validity"
        ),
    ],
)
def test_invalid_profiles_name_the_field_and_the_rule(raw: dict[str, Any], field: str, says: str) -> None:
    found = problems(raw)
    assert field in found, found
    assert says in found[field], found


def test_every_problem_is_listed_at_once() -> None:
    raw = document(
        bogus=1,
        path_length=2,
        validity={"default": "9d", "max": "1d"},
        extended_key_usage={"critical": False, "usages": ["1.2.x"]},
        sans={"types": {"DNS": {"regex": "(["}}},
    )
    found = problems(raw)
    assert {"bogus", "path_length", "validity", "extended_key_usage.usages", "sans.types.DNS.regex"} <= set(found)
    with pytest.raises(InvalidProfile) as refused:
        load_document(raw)
    assert "bogus" in refused.value.detail and "path_length" in refused.value.detail


@pytest.mark.parametrize("raw", [[1, 2], "text", 42, None], ids=["list", "string", "number", "empty"])
def test_a_profile_is_a_mapping(raw: Any) -> None:
    with pytest.raises(InvalidProfile, match="mapping"):
        load_document(raw)


def test_a_complete_profile_compiles_to_what_it_says() -> None:
    raw = document(
        description="everything",
        validity={"default": "12h", "max": "30d", "backdate": "5m"},
        keys=[{"algorithm": "rsa", "min_bits": 3072, "max_bits": 4096}, {"algorithm": "ec", "curves": ["P-384"]}],
        key_usage={"critical": False, "usages": ["digital_signature", "key_agreement"]},
        extended_key_usage={"critical": True, "usages": ["client_auth", "1.3.6.1.4.1.311.20.2.2"]},
        subject={"rules": [{"attribute": "2.5.4.10", "value": "Example"}, {"attribute": "cn", "required": True}]},
        sans={
            "max": 3,
            "types": {"IP": {"allow": ["10.0.0.0/8"], "deny": ["10.9.0.0/16"]}, "DNS": {"wildcards": False}},
        },
        pass_through=["1.2.3.4.5"],
        extensions={
            "certificate_policies": [
                {"oid": "1.3.6.1.4.1.99999.1", "cps": ["https://pki.example/cps"], "notice": "hi"}
            ],
            "must_staple": True,
            "custom": [{"oid": "1.3.6.1.4.1.99999.2", "critical": True, "value": "0500"}],
        },
        subject_key_identifier="sha256",
        signature_hash="sha384",
        cas=["issuing"],
        lint={"mode": "sampled", "sample_rate": 0.25, "accept": [{"code": "pkix.x", "reason": "because"}]},
    )
    config = load_document(raw)
    assert isinstance(config, ProfileConfig)
    profile = compile_profile(config, 7)
    assert profile.ref == "custom@7" and profile.kind is ProfileKind.LEAF and profile.issuable
    assert profile.default_validity.total_seconds() == 12 * 3600 and profile.backdate.total_seconds() == 300
    assert [(k.algorithm, k.min_bits) for k in profile.keys][0] == ("rsa", 3072)
    assert profile.keys[1].curves == frozenset({"secp384r1"})
    assert profile.key_usage == {"digital_signature", "key_agreement"} and not profile.key_usage_critical
    assert profile.extended_key_usage_critical and len(profile.extended_key_usage) == 2
    assert profile.subject is not None and [r.label for r in profile.subject.rules] == ["O", "CN"]
    assert profile.subject.rules[1].min_count == 1  # required
    assert profile.sans.rule_for("IP").allow_networks[0].prefixlen == 8  # type: ignore[union-attr]
    assert [e.oid.dotted_string for e in profile.fixed_extensions] == [
        "2.5.29.32",
        "1.3.6.1.5.5.7.1.24",
        "1.3.6.1.4.1.99999.2",
    ]
    assert profile.fixed_extensions[2].critical
    assert profile.lint.mode is LintMode.SAMPLED and profile.lint.accepted_codes == {"pkix.x"}
    assert profile.lint.sets == (LintSet.PKIX,)
    assert profile.cas == {"issuing"}


@pytest.mark.parametrize(
    ("usages", "sets"),
    [
        (["server_auth", "client_auth"], (LintSet.CABF_SERVERAUTH,)),
        (["email_protection"], (LintSet.CABF_SMIME,)),
        (["code_signing"], (LintSet.PKIX,)),
    ],
)
def test_validator_sets_follow_the_extended_key_usage(usages: list[str], sets: tuple[LintSet, ...]) -> None:
    config = load_document(document(extended_key_usage={"critical": False, "usages": usages}))
    assert compile_profile(config, 1).lint.sets == sets  # type: ignore[arg-type]


def test_a_referenced_subject_profile_must_exist() -> None:
    config = load_document(document(subject_profile="nowhere"))
    with pytest.raises(InvalidProfile) as refused:
        compile_profile(config, 1)  # type: ignore[arg-type]
    assert refused.value.sub_errors[0].identifier == "subject_profile"


def test_subject_profiles_compile() -> None:
    config = load_document({"name": "dn", "kind": "subject", "rules": [{"attribute": "O"}, {"attribute": "CN"}]})
    assert isinstance(config, SubjectProfileConfig)
    rules = compile_subject(config, "dn", 3)
    assert (rules.name, rules.version, len(rules.rules)) == ("dn", 3, 2)


def test_every_builtin_profile_compiles() -> None:
    names = {name for name, _ in builtin_documents()}
    assert (
        {
            "tls-server",
            "tls-client",
            "tls-server-client",
            "email-smime",
            "code-signing",
            "document-signing",
            "ocsp-responder",
            "sub-ca",
            "root-ca",
            "device",
            "windows-workstation",
            "windows-user",
            "windows-domain-controller",
        }
        <= set(builtin_profiles())
        <= names
    )
    assert builtin_profiles()["root-ca"].kind is ProfileKind.ROOT and not builtin_profiles()["root-ca"].issuable


# -- the file format ------------------------------------------------------------------------


def test_yaml_and_json_files_parse_and_export_round_trips() -> None:
    text = dump_profile(document(sans={"types": {"DNS": {}}}))
    assert parse_profile_text(text) == document(sans={"types": {"DNS": {}}})
    assert parse_profile_text(b'{"name": "x", "kind": "subject"}') == {"name": "x", "kind": "subject"}
    for _, shipped in builtin_documents():
        assert parse_profile_text(dump_profile(shipped)) == shipped


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param(b"name: [unclosed\nkind: x\n", "line", id="fail/malformed"),
        pytest.param(b"name: tls\nvalidity: {default: 90d, max:", "not a valid YAML", id="fail/truncated"),
        pytest.param(b"a: &x [1, 2]\nb: *x\n", "anchors are not allowed", id="fail/anchor-and-alias"),
        pytest.param(
            b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b]\n",
            "not allowed",
            id="fail/billion-laughs",
        ),
        pytest.param(b"!!python/object/apply:os.system ['true']\n", "not a valid YAML", id="fail/python-object-tag"),
        pytest.param(b"\xff\xfename: x\n", "UTF-8", id="fail/not-utf8"),
        pytest.param(b"[" * 100_000, "", id="fail/nested-too-deeply"),
        pytest.param(b"a: 1\n---\nb: 2\n", "not a valid YAML", id="fail/two-documents"),
    ],
)
def test_hostile_and_broken_files_are_refused(text: bytes, says: str) -> None:
    with pytest.raises(Malformed) as refused:
        parse_profile_text(text)
    assert says in refused.value.detail


def test_oversized_files_are_refused() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_profile_text(b"# " + b"x" * MAX_PROFILE_BYTES)
