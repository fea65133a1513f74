"""dn_key: directory group DNs compared as DNs (RFC 4514 string form, RFC 4518 caseIgnoreMatch)."""

from __future__ import annotations

import pytest

from chancery.domain.identity import dn_key

BASE = "cn=pki-ops,ou=groups,dc=example,dc=com"


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("CN=PKI-Ops,OU=Groups,DC=Example,DC=Com", id="ok/case"),
        pytest.param("cn=pki-ops, ou=groups, dc=example, dc=com", id="ok/spaces-after-commas"),
        pytest.param(" cn = pki-ops ,ou=groups;dc=example,dc=com ", id="ok/spaces-and-semicolon"),
        pytest.param("cn=pki\\2Dops,ou=groups,dc=example,dc=com", id="ok/hex-escape"),
        pytest.param("cn=pki\\-ops,ou=groups,dc=example,dc=com", id="ok/char-escape"),
    ],
)
def test_spellings_of_one_dn_have_one_key(spelling: str) -> None:
    assert dn_key(spelling) == dn_key(BASE)


@pytest.mark.parametrize(
    "other",
    [
        pytest.param("cn=pki-ops,ou=people,dc=example,dc=com", id="fail/another-ou"),
        pytest.param("cn=pki-ops\\,ou=groups,dc=example,dc=com", id="fail/escaped-comma-is-a-value"),
        pytest.param("cn=pki-ops+ou=groups,dc=example,dc=com", id="fail/multi-valued-rdn"),
        pytest.param("cn=pki ops,ou=groups,dc=example,dc=com", id="fail/space-is-not-a-dash"),
        pytest.param("", id="fail/empty"),
    ],
)
def test_other_dns_have_other_keys(other: str) -> None:
    assert dn_key(other) != dn_key(BASE)


def test_multi_valued_rdns_compare_in_any_order_and_utf8_escapes_decode() -> None:
    assert dn_key("cn=x+uid=y,dc=z") == dn_key("UID=Y + CN=X,dc=z")
    assert dn_key("cn=caf\\c3\\a9,dc=x") == dn_key("cn=Café,dc=x")
    assert dn_key("cn=a\\,b,dc=x") == dn_key("cn=a\\2cb,dc=x")


@pytest.mark.parametrize("hostile", ["\\", "cn=\\", "cn=\\zz", "=,=,+", "\\ff\\fe", "a" * 10000])
def test_hostile_text_still_gives_a_key(hostile: str) -> None:
    assert isinstance(dn_key(hostile), str)
