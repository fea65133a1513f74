import pytest
from cryptography.x509.oid import NameOID

from chancery.errors import Malformed
from chancery.pki.names import format_name, parse_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("CN=Issuing CA,O=Example", "CN=Issuing CA,O=Example", id="ok/plain"),
        pytest.param("CN=Issuing CA, O=Example", "CN=Issuing CA,O=Example", id="ok/space-after-comma"),
        pytest.param("cn = x , o = y", "CN=x,O=y", id="ok/lower-case-and-spaces"),
        pytest.param("CN=a\\,b,O=x", "CN=a\\,b,O=x", id="ok/escaped-comma"),
        pytest.param("CN=a+UID=b", "CN=a+UID=b", id="ok/multi-valued-rdn"),
        pytest.param("E=a@example.com,CN=x", "1.2.840.113549.1.9.1=a@example.com,CN=x", id="ok/email-alias"),
        pytest.param("SERIALNUMBER=42,CN=x", "2.5.4.5=42,CN=x", id="ok/serial-number"),
        pytest.param("2.5.4.3=by-oid", "CN=by-oid", id="ok/dotted-oid"),
    ],
)
def test_parse(text: str, expected: str) -> None:
    assert format_name(parse_name(text)) == expected


def test_order_is_rfc_4514_most_specific_first() -> None:
    name = parse_name("CN=leaf,O=Org,C=DE")
    assert [a.oid for a in name] == [NameOID.COUNTRY_NAME, NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="fail/empty"),
        pytest.param("   ", id="fail/blank"),
        pytest.param("CN", id="fail/no-equals"),
        pytest.param("FOO=bar", id="fail/unknown-attribute"),
        pytest.param("C=Germany", id="fail/country-not-two-letters"),
        pytest.param("CN=", id="fail/empty-value"),
        pytest.param("CN=" + "x" * 5000, id="fail/oversized"),
        pytest.param("CN=x,,O=y", id="fail/empty-rdn"),
    ],
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(Malformed):
        parse_name(text)
