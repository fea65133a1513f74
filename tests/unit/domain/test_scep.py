"""SCEP's kernel: challenge lifetimes, subject patterns, challenge digests."""

from __future__ import annotations

import datetime as dt

import pytest

from chancery.domain.scep import SubjectPattern, challenge_digest, new_challenge, parse_ttl
from chancery.errors import Malformed


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800), ("30d", 2592000), (" 2H ", 7200)],
    ids=lambda value: f"ok/{value}",
)
def test_lifetimes(text: str, seconds: int) -> None:
    assert parse_ttl(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text",
    ["", "h", "0s", "31d", "1.5h", "-1h", "1w", "99999999999d", "1h1m", "１h"],
    ids=lambda value: f"fail/{value!r}",
)
def test_bad_lifetimes(text: str) -> None:
    with pytest.raises(Malformed):
        parse_ttl(text)


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("CN=printer-*", "CN=printer-7", True),
        ("CN=printer-*", "cn=PRINTER-7", True),
        ("CN=printer-*", "CN=laptop-1", False),
        ("CN=printer-?,O=Example", "CN=printer-7,O=Example", True),
        ("CN=printer-?,O=Example", "CN=printer-77,O=Example", False),
        ("*,O=Example", "CN=anything,O=Example", True),
    ],
    ids=lambda value: str(value),
)
def test_subject_patterns(pattern: str, subject: str, matches: bool) -> None:
    assert SubjectPattern(pattern).matches(subject) is matches


@pytest.mark.parametrize(
    "pattern", ["", "x" * 257, "CN=a\nO=b", "CN=\x00"], ids=["fail/empty", "fail/long", "fail/newline", "fail/nul"]
)
def test_bad_subject_patterns(pattern: str) -> None:
    with pytest.raises(Malformed):
        SubjectPattern(pattern)


def test_challenges_are_fresh_and_stored_as_digests() -> None:
    challenges = {new_challenge() for _ in range(100)}
    assert len(challenges) == 100 and all(len(c) >= 26 for c in challenges)
    one = next(iter(challenges))
    assert challenge_digest(one) != one and len(challenge_digest(one)) == 64
