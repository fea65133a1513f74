import pytest

from chancery.domain.names import ca_name
from chancery.domain.queries import PageRequest, decode_cursor, encode_cursor
from chancery.errors import Malformed


def test_cursor_round_trip() -> None:
    assert decode_cursor(encode_cursor(12345)) == 12345
    assert PageRequest(limit=5, cursor=encode_cursor(7)).after_row == 7


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("!!", id="fail/not-base64"),
        pytest.param(encode_cursor(1)[:-1] + "*", id="fail/bad-character"),
        pytest.param("eDEy", id="fail/not-ours"),
        pytest.param("ci0x", id="fail/negative"),
        pytest.param("w4k", id="fail/not-ascii"),
    ],
)
def test_foreign_cursors_are_malformed(cursor: str) -> None:
    with pytest.raises(Malformed):
        PageRequest(cursor=cursor)


@pytest.mark.parametrize("limit", [0, 501, -1])
def test_limits(limit: int) -> None:
    with pytest.raises(Malformed):
        PageRequest(limit=limit)


@pytest.mark.parametrize("name", ["issuing-1", "root", "a.b_c"])
def test_ca_names_ok(name: str) -> None:
    assert ca_name(name) == name


@pytest.mark.parametrize("name", ["", "Root", "-x", "a/b", "a..b", "x" * 64, "x.crl", "ä"])
def test_ca_names_refused(name: str) -> None:
    with pytest.raises(Malformed):
        ca_name(name)
