"""The RA kernel: request IDs, the request state machine and approval policies."""

from __future__ import annotations

import pytest

from chancery.domain.principals import Role
from chancery.domain.registration import (
    ID_SYMBOLS,
    TRANSITIONS,
    ProfilePolicy,
    RequestState,
    can_move,
    new_request_id,
    normalise_request_id,
)
from chancery.errors import Malformed


def test_request_ids_carry_80_random_bits_in_readable_groups() -> None:
    ids = {new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for request_id in list(ids)[:50]:
        groups = request_id.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert not set(request_id) & set("ILOU")  # Crockford base32: nothing to misread
    assert ID_SYMBOLS * 5 == 80


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        pytest.param("7K2M-9QXR-3VTD-H8PA", "7K2M-9QXR-3VTD-H8PA", id="ok/canonical"),
        pytest.param("7k2m9qxr3vtdh8pa", "7K2M-9QXR-3VTD-H8PA", id="ok/lower-case-no-dashes"),
        pytest.param("7K2M 9QXR 3VTD H8PA", "7K2M-9QXR-3VTD-H8PA", id="ok/spaces"),
        pytest.param("OOOO-IIII-LLLL-1111", "0000-1111-1111-1111", id="ok/misread-letters"),
        pytest.param("7K2M-9QXR-3VTD-H8P", None, id="fail/short"),
        pytest.param("7K2M-9QXR-3VTD-H8PAA", None, id="fail/long"),
        pytest.param("7K2M-9QXR-3VTD-H8PU", None, id="fail/not-in-alphabet"),
        pytest.param("7K2M-9QXR-3VTD-H8P%", None, id="fail/punctuation"),
        pytest.param("", None, id="fail/empty"),
        pytest.param("7" * 10_000, None, id="fail/huge"),
        pytest.param("' OR 1=1 --", None, id="fail/injection"),
    ],
)
def test_typed_ids_are_normalised_or_refused(typed: str, canonical: str | None) -> None:
    assert normalise_request_id(typed) == canonical


def test_the_state_machine() -> None:
    assert can_move(RequestState.PENDING, RequestState.APPROVED)
    assert can_move(RequestState.APPROVED, RequestState.ISSUED)
    assert not can_move(RequestState.PENDING, RequestState.ISSUED)  # never without being approved
    for final in (s for s in RequestState if s.final):
        assert final not in TRANSITIONS, f"{final} is final: nothing leaves it"
        assert not any(can_move(final, other) for other in RequestState)
    assert not RequestState.PENDING.final and not RequestState.APPROVED.final


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"approvals": -1}, id="fail/negative-approvals"),
        pytest.param({"approvals": 6}, id="fail/too-many-approvals"),
        pytest.param({"lifetime_hours": 0}, id="fail/no-lifetime"),
        pytest.param({"lifetime_hours": 24 * 91}, id="fail/lifetime-over-90-days"),
        pytest.param({"approver_role": Role.REQUESTER}, id="fail/requesters-approving"),
    ],
)
def test_policies_refuse_what_makes_no_sense(values: dict[str, object]) -> None:
    with pytest.raises(Malformed):
        ProfilePolicy(**values)  # type: ignore[arg-type]


def test_default_policy_is_one_officer_and_no_anonymous() -> None:
    policy = ProfilePolicy()
    assert (policy.approvals, policy.approver_role, policy.allow_anonymous) == (1, Role.RA_OFFICER, False)
