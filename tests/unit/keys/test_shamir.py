"""Shamir secret sharing over GF(2^8): field vectors, published shares, and the threshold property."""

import itertools
import json
import random
from pathlib import Path

import pytest

from chancery.keys.shamir import Share, combine, gf_inv, gf_mul, split

VECTORS = Path(__file__).parents[2] / "vectors" / "shamir"


@pytest.mark.parametrize(
    ("a", "b", "product"),
    [
        pytest.param(0x57, 0x83, 0xC1, id="ok/fips197-4.2-57x83"),
        pytest.param(0x57, 0x02, 0xAE, id="ok/fips197-4.2.1-xtime-57"),
        pytest.param(0x57, 0x04, 0x47, id="ok/fips197-4.2.1-xtime-ae"),
        pytest.param(0x57, 0x08, 0x8E, id="ok/fips197-4.2.1-xtime-47"),
        pytest.param(0x57, 0x10, 0x07, id="ok/fips197-4.2.1-xtime-8e"),
        pytest.param(0x57, 0x13, 0xFE, id="ok/fips197-4.2.1-57x13"),
        pytest.param(0x00, 0xFF, 0x00, id="ok/zero"),
        pytest.param(0x01, 0xAB, 0xAB, id="ok/one"),
    ],
)
def test_multiplication_matches_fips_197(a: int, b: int, product: int) -> None:
    assert gf_mul(a, b) == product
    assert gf_mul(b, a) == product


def _aes_affine(b: int) -> int:
    """FIPS 197 §5.1.1 affine transformation (used to check inverses against the S-box)."""
    out = 0x63
    for shift in range(5):
        out ^= ((b << shift) | (b >> (8 - shift))) & 0xFF
    return out


@pytest.mark.parametrize(
    ("x", "sbox"),
    [
        pytest.param(0x53, 0xED, id="ok/fips197-5.1.1-53"),
        pytest.param(0x01, 0x7C, id="ok/fips197-fig7-01"),
        pytest.param(0xFF, 0x16, id="ok/fips197-fig7-ff"),
        pytest.param(0x10, 0xCA, id="ok/fips197-fig7-10"),
    ],
)
def test_inverse_reproduces_the_aes_sbox(x: int, sbox: int) -> None:
    assert _aes_affine(gf_inv(x)) == sbox


def test_every_non_zero_element_has_an_inverse_and_zero_has_none() -> None:
    assert all(gf_mul(a, gf_inv(a)) == 1 for a in range(1, 256))
    assert gf_inv(0x53) == 0xCA
    with pytest.raises(ValueError, match="non-zero"):
        gf_inv(0)


def test_powers_of_e5_match_vaults_exp_table() -> None:
    table = bytes.fromhex("".join((VECTORS / "vault_exp_table_generator_e5.hex").read_text().split()))
    value, powers = 1, []
    for _ in range(256):
        powers.append(value)
        value = gf_mul(value, 0xE5)
    assert bytes(powers) == table


def _published() -> list[dict[str, object]]:
    return json.loads((VECTORS / "ok_published_shares.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", _published(), ids=lambda v: "ok/" + v["id"])
def test_published_shares_combine_to_the_published_secret(vector: dict) -> None:
    shares = [Share(int(x), bytes.fromhex(y)) for x, y in vector["shares"].items()]
    secret = bytes.fromhex(vector["secret"])
    for size in range(vector["threshold"], len(shares) + 1):
        for subset in itertools.combinations(shares, size):
            assert combine(subset) == secret
            assert combine(list(reversed(subset))) == secret
    for subset in itertools.combinations(shares, vector["threshold"] - 1):
        if subset:
            assert combine(subset) != secret


@pytest.mark.parametrize(("threshold", "count"), [(1, 1), (1, 3), (2, 2), (3, 5), (4, 7), (5, 5)])
def test_any_threshold_shares_recover_and_fewer_do_not(threshold: int, count: int) -> None:
    rng = random.Random(threshold * 1000 + count)
    secret = rng.randbytes(32)
    shares = split(secret, threshold, count, random=rng.randbytes)
    assert [s.index for s in shares] == list(range(1, count + 1))
    assert len({s.value for s in shares}) == (1 if threshold == 1 else count)
    for subset in itertools.combinations(shares, threshold):
        assert combine(subset) == secret
    for subset in itertools.combinations(shares, threshold - 1):
        if subset:
            assert combine(subset) != secret


def test_full_range_of_indexes_recovers() -> None:
    secret = bytes(range(8))
    shares = split(secret, 255, 255)
    assert combine(shares) == secret
    assert shares[-1].index == 255


def test_the_random_source_supplies_the_coefficients() -> None:
    rows = iter([bytes([0x83]), bytes([0x13])])
    shares = split(bytes([0x57]), 3, 3, random=lambda n: next(rows))
    # f(x) = 57 + 83 x + 13 x^2; f(1) is the xor of the coefficients.
    assert shares[0].value == bytes([0x57 ^ 0x83 ^ 0x13])
    assert shares[1].value == bytes([0x57 ^ gf_mul(0x83, 2) ^ gf_mul(0x13, gf_mul(2, 2))])


def test_shares_from_two_splits_do_not_mix() -> None:
    secret = b"\x42" * 32
    first, second = split(secret, 2, 3), split(secret, 2, 3)
    assert combine([first[0], second[1]]) != secret


def test_a_share_hides_its_value_in_repr() -> None:
    share = Share(1, b"\x01\x02")
    assert "\\x01" not in repr(share) and "2 bytes hidden" in repr(share)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: combine([]), "no shares", id="fail/combine-nothing"),
        pytest.param(lambda: combine([Share(1, b"a"), Share(1, b"b")]), "twice", id="fail/duplicate-index"),
        pytest.param(lambda: combine([Share(1, b"ab"), Share(2, b"c")]), "different lengths", id="fail/mixed-lengths"),
        pytest.param(lambda: Share(0, b"a"), "between 1 and 255", id="fail/index-zero"),
        pytest.param(lambda: Share(256, b"a"), "between 1 and 255", id="fail/index-256"),
        pytest.param(lambda: Share(1, b""), "non-empty", id="fail/empty-value"),
        pytest.param(lambda: split(b"", 2, 3), "non-empty", id="fail/empty-secret"),
        pytest.param(lambda: split(b"s", 4, 3), "threshold", id="fail/threshold-above-shares"),
        pytest.param(lambda: split(b"s", 0, 3), "threshold", id="fail/threshold-zero"),
        pytest.param(lambda: split(b"s", 2, 256), "threshold", id="fail/too-many-shares"),
        pytest.param(lambda: split(b"ss", 2, 3, random=lambda n: b"x"), "wrong number", id="fail/short-random"),
    ],
)
def test_bad_input_is_refused(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
