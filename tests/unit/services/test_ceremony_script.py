"""Ceremony scripts are validated strictly, every problem named with its line and field."""

from __future__ import annotations

import pytest

from chancery.errors import Malformed, PayloadTooLarge
from chancery.services.ceremony.script import CreateIntermediate, CreateRoot, Crl, SignCsr, parse_script

SCRIPT = """\
ceremony: root-2026
custodians: [alice, bob, carol]
threshold: 2
steps:
  - action: create-root
    ca: root
    subject: "CN=Example Root,O=Example"
    days: 7300
    out: root.pem
  - action: crl
    ca: root
    validity: 180d
    out: root.crl
"""


def test_a_valid_script() -> None:
    script = parse_script(SCRIPT.encode())
    assert (script.ceremony, script.custodians, script.threshold) == ("root-2026", ["alice", "bob", "carol"], 2)
    root, crl = script.steps
    assert isinstance(root, CreateRoot) and (root.key_type, root.key_store, root.days) == ("ec-p384", "software", 7300)
    assert isinstance(crl, Crl) and (crl.validity, crl.format) == ("180d", "der")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        pytest.param(
            "  - action: create-intermediate\n    ca: issuing\n    subject: CN=Issuing\n    csr_out: issuing.csr\n"
            "    key_store: pkcs11\n",
            CreateIntermediate,
            id="ok/intermediate-csr-in-the-hsm",
        ),
        pytest.param(
            "  - action: sign-csr\n    ca: root\n    csr: in/issuing.csr\n    path_length: 0\n    chain: true\n"
            "    out: out/issuing.pem\n",
            SignCsr,
            id="ok/sign-csr-subdirectories",
        ),
    ],
)
def test_valid_steps(text: str, kind: type) -> None:
    script = parse_script((SCRIPT + text).encode())
    assert isinstance(script.steps[-1], kind)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "days: 7300",
            'days: "7300"',
            "line 8: step 1 (create-root), field days: Input should be a valid integer",
            id="fail/string-for-int",
        ),
        pytest.param(
            "days: 7300",
            "days: 7300\n    colour: red",
            "line 9: step 1 (create-root): unknown field 'colour'",
            id="fail/unknown-field",
        ),
        pytest.param(
            '    subject: "CN=Example Root,O=Example"\n',
            "",
            "line 5: step 1 (create-root): missing field 'subject'",
            id="fail/missing-field",
        ),
        pytest.param(
            "action: crl",
            "action: frobnicate",
            "line 10: step 2: unknown action 'frobnicate'",
            id="fail/unknown-action",
        ),
        pytest.param("  - action: crl\n", "  - \n", "line 11: step 2: a step needs an action", id="fail/no-action"),
        pytest.param(
            "threshold: 2",
            "threshold: 4",
            "line 3: field threshold: the threshold must be between 1 and",
            id="fail/threshold-above-n",
        ),
        pytest.param(
            "threshold: 2",
            "threshold: 0",
            "line 3: field threshold: Input should be greater than or equal to 1",
            id="fail/threshold-zero",
        ),
        pytest.param(
            "[alice, bob, carol]",
            "[alice, Bob, carol]",
            "line 2: field custodians[2]: invalid custodian name 'Bob'",
            id="fail/custodian-name",
        ),
        pytest.param(
            "[alice, bob, carol]",
            "[alice, bob, alice]",
            "line 2: field custodians: a custodian is named twice",
            id="fail/custodian-twice",
        ),
        pytest.param(
            "out: root.crl",
            "out: ../root.crl",
            "line 13: step 2 (crl), field out: '../root.crl' is not a relative path",
            id="fail/path-escapes",
        ),
        pytest.param(
            "out: root.crl",
            "out: /tmp/root.crl",
            "field out: '/tmp/root.crl' is not a relative path",
            id="fail/absolute-path",
        ),
        pytest.param(
            "out: root.crl",
            "out: root.pem",
            "line 10: step 2 (crl) writes root.pem, which an earlier step writes",
            id="fail/written-twice",
        ),
        pytest.param(
            "CN=Example Root",
            "XX=Example Root",
            "line 7: step 1 (create-root), field subject: invalid distinguished name",
            id="fail/subject",
        ),
        pytest.param(
            "validity: 180d",
            "validity: 400d",
            "line 12: step 2 (crl), field validity: a CRL validity is between",
            id="fail/crl-validity",
        ),
        pytest.param(
            "    ca: root\n    validity",
            "    ca: root\n    ca: other\n    validity",
            "line 12, column 5: duplicate key 'ca'",
            id="fail/duplicate-key",
        ),
        pytest.param(
            "ca: root\n    subject",
            "ca: Root!\n    subject",
            "line 6: step 1 (create-root), field ca: invalid CA name",
            id="fail/ca-name",
        ),
        pytest.param(
            "days: 7300",
            "days: 7300\n    key_store: tpm",
            "field key_store: Input should be 'software' or 'pkcs11'",
            id="fail/key-store",
        ),
        pytest.param(
            "days: 7300",
            "days: 7300\n    key_type: rsa-1024",
            "field key_type: unknown key type 'rsa-1024'",
            id="fail/key-type",
        ),
        pytest.param(
            "ceremony: root-2026",
            "ceremony: Root 2026",
            "line 1: field ceremony: invalid ceremony name",
            id="fail/ceremony-name",
        ),
        pytest.param("ceremony: root-2026\n", "", "line 1: missing field 'ceremony'", id="fail/no-ceremony-name"),
        pytest.param(
            "ceremony: root-2026", "ceremony: &a root-2026", "anchors and aliases are not allowed", id="fail/anchor"
        ),
        pytest.param("ceremony: root-2026", "ceremony: [root", "is not valid YAML: line", id="fail/yaml-syntax"),
    ],
)
def test_invalid_scripts_name_the_line_and_the_field(old: str, new: str, expected: str) -> None:
    assert old in SCRIPT
    with pytest.raises(Malformed) as raised:
        parse_script(SCRIPT.replace(old, new, 1).encode(), "root.yaml")
    assert expected in raised.value.detail
    assert raised.value.detail.startswith("root.yaml ")


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        pytest.param(
            "    parent: root\n    csr_out: i.csr\n", "give exactly one of parent", id="fail/parent-and-csr-out"
        ),
        pytest.param("    out: i.pem\n", "give exactly one of parent", id="fail/neither"),
        pytest.param("    parent: root\n", "with a parent, out names where", id="fail/parent-without-out"),
        pytest.param("    csr_out: i.csr\n    days: 30\n", "with csr_out the parent decides", id="fail/csr-with-days"),
    ],
)
def test_create_intermediate_is_either_signed_here_or_elsewhere(step: str, expected: str) -> None:
    text = SCRIPT + "  - action: create-intermediate\n    ca: issuing\n    subject: CN=Issuing\n" + step
    with pytest.raises(Malformed, match=expected) as raised:
        parse_script(text.encode())
    assert "line 14: step 3 (create-intermediate)" in raised.value.detail


@pytest.mark.parametrize(
    ("data", "error", "expected"),
    [
        pytest.param(b"", Malformed, "is empty", id="fail/empty"),
        pytest.param(b"- 1\n- 2\n", Malformed, "expected a mapping", id="fail/a-list"),
        pytest.param(b"\xff\xfe", Malformed, "not UTF-8", id="fail/not-utf8"),
        pytest.param(b"#" * (65 * 1024), PayloadTooLarge, "larger than 64 KiB", id="fail/too-large"),
    ],
)
def test_what_is_not_a_script(data: bytes, error: type[Exception], expected: str) -> None:
    with pytest.raises(error, match=expected):
        parse_script(data)


def test_every_problem_is_reported_at_once() -> None:
    text = SCRIPT.replace("days: 7300", 'days: "x"').replace("threshold: 2", "threshold: 9")
    with pytest.raises(Malformed) as raised:
        parse_script(text.encode())
    assert "line 3: field threshold" in raised.value.detail and "line 8: step 1" in raised.value.detail
    assert len(raised.value.sub_errors) == 2
