"""Local passwords: Argon2id with the RFC 9106 parameters, and the password policy (NIST SP 800-63B)."""

from __future__ import annotations

import base64

import pytest

from chancery.errors import Malformed
from chancery.services.identity import passwords as passwords_module
from chancery.services.identity.passwords import MAX_LENGTH, MIN_LENGTH, Passwords, check_policy

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    return Passwords()


@pytest.fixture(scope="module")
def stored(passwords: Passwords) -> str:
    return passwords.hash(PASSWORD)


def parse_phc(encoded: str) -> tuple[str, int, dict[str, int], bytes, bytes]:
    """``$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>`` (the PHC string format, unpadded base64)."""
    empty, variant, version, params, salt, digest = encoded.split("$")
    assert empty == ""
    assert version.startswith("v=")
    values = {key: int(value) for key, value in (item.split("=") for item in params.split(","))}

    def unpadded(text: str) -> bytes:
        return base64.b64decode(text + "=" * (-len(text) % 4))

    return variant, int(version[2:]), values, unpadded(salt), unpadded(digest)


def test_hash_is_argon2id_with_rfc_9106_second_recommended_parameters(stored: str) -> None:
    variant, version, params, salt, digest = parse_phc(stored)
    assert variant == "argon2id"
    assert version == 19  # Argon2 version 1.3 (0x13)
    assert params == {"m": 65536, "t": 3, "p": 4}  # RFC 9106 §4: 64 MiB, 3 passes, 4 lanes
    assert len(salt) >= 16  # RFC 9106 §3.1: 128-bit salt
    assert len(digest) >= 32  # 256-bit tag
    assert PASSWORD not in stored


def test_the_same_password_hashes_differently_each_time(passwords: Passwords, stored: str) -> None:
    again = passwords.hash(PASSWORD)
    assert again != stored
    assert parse_phc(again)[3] != parse_phc(stored)[3]  # a fresh random salt
    assert passwords.verify(again, PASSWORD)


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        pytest.param(PASSWORD, True, id="ok/right"),
        pytest.param(PASSWORD.upper(), False, id="fail/case"),
        pytest.param(PASSWORD + " ", False, id="fail/trailing-space"),
        pytest.param(PASSWORD[:-1], False, id="fail/truncated"),
        pytest.param("", False, id="fail/empty"),
    ],
)
def test_verify(passwords: Passwords, stored: str, candidate: str, expected: bool) -> None:
    assert passwords.verify(stored, candidate) is expected


def test_verify_without_a_stored_hash_is_false(passwords: Passwords) -> None:
    assert passwords.verify(None, PASSWORD) is False
    assert passwords.verify(None, "") is False
    assert passwords.verify("", PASSWORD) is False  # an empty hash is no hash


def test_a_missing_hash_never_verifies_even_against_the_dummys_own_password(
    monkeypatch: pytest.MonkeyPatch, passwords: Passwords, stored: str
) -> None:
    """Without a hash the dummy is checked (constant work); knowing its password must not help."""
    monkeypatch.setattr(passwords_module, "_DUMMY", stored)  # a dummy whose password we know
    assert passwords.verify(None, PASSWORD) is False
    assert passwords.verify("", PASSWORD) is False
    assert passwords.verify(stored, PASSWORD) is True


def test_the_dummy_hash_costs_as_much_as_a_real_one() -> None:
    assert parse_phc(passwords_module._DUMMY)[:3] == ("argon2id", 19, {"m": 65536, "t": 3, "p": 4})


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param("not a hash", id="fail/garbage"),
        pytest.param("$argon2id$v=19$m=65536,t=3,p=4$AAAA", id="fail/truncated"),
        pytest.param("$2b$12$abcdefghijklmnopqrstuuH3.ZcYcvIanHkqZs4zS2ICNXzRwFzm", id="fail/bcrypt"),
    ],
)
def test_verify_against_a_malformed_hash_is_false_not_an_error(passwords: Passwords, broken: str) -> None:
    assert passwords.verify(broken, PASSWORD) is False


def test_hashes_made_with_weaker_parameters_need_rehash(passwords: Passwords, stored: str) -> None:
    weak = Passwords(time_cost=1, memory_kib=8 * 1024, lanes=1)
    old = weak.hash(PASSWORD)
    assert parse_phc(old)[2] == {"m": 8192, "t": 1, "p": 1}
    assert passwords.verify(old, PASSWORD)  # still accepted...
    assert passwords.needs_rehash(old)  # ...but upgraded at the next login
    assert not passwords.needs_rehash(stored)
    for params in ({"time_cost": 2}, {"memory_kib": 32 * 1024}, {"lanes": 2}):
        assert passwords.needs_rehash(Passwords(**params).hash(PASSWORD)), params


@pytest.mark.parametrize(
    ("password", "user", "message"),
    [
        pytest.param("x" * 0, "alice", "at least 12", id="fail/empty"),
        pytest.param("Sh0rt-pass!", "alice", "at least 12", id="fail/11-characters"),
        pytest.param("x1!" * (MAX_LENGTH // 3 + 1), "alice", "at most 1024", id="fail/too-long"),
        pytest.param(" leading space pass", "alice", "spaces", id="fail/leading-space"),
        pytest.param("trailing space pass ", "alice", "spaces", id="fail/trailing-space"),
        pytest.param("tab\tinside the password", "alice", "control", id="fail/control-character"),
        pytest.param("new\nline in the password", "alice", "control", id="fail/newline"),
        pytest.param("alice-is-my-password", "alice", "user name", id="fail/contains-user"),
        pytest.param("my-ALICE-password-2024", "alice", "user name", id="fail/contains-user-any-case"),
        pytest.param("alice.smith@example", "alice.smith@example", "user name", id="fail/equals-user"),
        pytest.param("aaaaaaaaaaaaaaaa", "alice", "5 different", id="fail/one-character"),
        pytest.param("abababcdabcdabcd", "alice", "5 different", id="fail/four-characters"),
    ],
)
def test_check_policy_refuses(password: str, user: str, message: str) -> None:
    with pytest.raises(Malformed) as refused:
        check_policy(password, user)
    assert message in refused.value.detail


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("x1!y2@z3#w4$", id="ok/exactly-12"),
        pytest.param("correct horse battery staple", id="ok/passphrase-with-inner-spaces"),
        pytest.param("abcdeabcdeab", id="ok/five-different"),
        pytest.param("pässwörd-ünïcødé", id="ok/unicode"),
        pytest.param("x1!y2@z3#w4$" * (MAX_LENGTH // 12) + "abcd", id="ok/max-length"),
    ],
)
def test_check_policy_accepts(password: str) -> None:
    assert MIN_LENGTH <= len(password) <= MAX_LENGTH
    check_policy(password, "alice")


@pytest.mark.parametrize("user", ["al", "x"])
def test_very_short_user_names_do_not_refuse_ordinary_passwords(user: str) -> None:
    check_policy("a relaxed alpha phoenix", user)  # holds "al" and "x": refused if short names counted
