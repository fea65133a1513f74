import pytest

from chancery.domain.revocation import RevocationReason
from chancery.errors import BadRevocationReason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("keyCompromise", RevocationReason.keyCompromise, id="ok/rfc-name"),
        pytest.param("key-compromise", RevocationReason.keyCompromise, id="ok/kebab"),
        pytest.param("KEY_COMPROMISE", RevocationReason.keyCompromise, id="ok/upper-snake"),
        pytest.param("certificateHold", RevocationReason.certificateHold, id="ok/hold"),
        pytest.param("cacompromise", RevocationReason.cACompromise, id="ok/lower"),
    ],
)
def test_parse(text: str, reason: RevocationReason) -> None:
    assert RevocationReason.parse(text) is reason


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("removeFromCRL", id="fail/remove-from-crl"),
        pytest.param("stolen", id="fail/unknown"),
        pytest.param("", id="fail/empty"),
    ],
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(BadRevocationReason):
        RevocationReason.parse(text)


def test_codes_match_rfc_5280() -> None:
    assert [r.value for r in RevocationReason] == [0, 1, 2, 3, 4, 5, 6, 8, 9, 10]
