"""Dual control (two-person rule): sensitive operations wait for other administrators.

Service-level tests on both databases: creating a CA needs a second administrator
when dual control is on, the requester cannot approve, nobody approves twice,
approvals expire, and a concurrent last approval runs the operation once.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.approvals import OperationState
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Principal, Role
from chancery.domain.queries import AuditFilter
from chancery.errors import ApprovalRequired, Conflict, Forbidden, NotFound
from chancery.services.approvals import APPROVALS_POLICY, EXPIRY_POLICY
from chancery.services.authority.hierarchy import NewCA
from chancery.services.identity.accounts import NewGrant

pytestmark = pytest.mark.integration

ALICE = Principal("alice", frozenset({Role.ADMINISTRATOR}))
BOB = Principal("bob", frozenset({Role.ADMINISTRATOR}))
CAROL = Principal("carol", frozenset({Role.ADMINISTRATOR}))
AUDITOR = Principal("audrey", frozenset({Role.AUDITOR}))
NEW_ROOT = NewCA("second-root", "CN=Second Root,O=Chancery Tests", KeyType.EC_P256)


def turn_on(app: wiring.Application, admin: Principal, approvals: int = 1) -> None:
    app.policies.set(admin, APPROVALS_POLICY, approvals)  # stricter: takes effect at once


def requested(app: wiring.Application, requester: Principal = ALICE) -> str:
    """Ask for a new root CA; return the id of the pending operation it became."""
    with pytest.raises(ApprovalRequired) as raised:
        app.hierarchy.create_root(requester, NEW_ROOT)
    (sub,) = raised.value.sub_errors
    assert sub.identifier == "operation"
    assert sub.detail in raised.value.detail
    return sub.detail


def ca_names(app: wiring.Application, admin: Principal) -> set[str]:
    return {ca.name for ca in app.hierarchy.list(admin)}


def actions(app: wiring.Application, admin: Principal, prefix: str) -> list[str]:
    return [e.action for e in app.audit.search(admin, AuditFilter(action=prefix), 100)]


def test_with_dual_control_off_a_ca_is_created_at_once(app: wiring.Application, admin: Principal) -> None:
    app.hierarchy.create_root(ALICE, NEW_ROOT)
    assert "second-root" in ca_names(app, admin)
    assert app.dual_control.list(admin) == ()


def test_creating_a_ca_needs_a_second_administrator(app: wiring.Application, admin: Principal) -> None:
    turn_on(app, admin)
    operation_id = requested(app)
    assert "second-root" not in ca_names(app, admin)  # recorded, not run
    pending = app.dual_control.get(admin, operation_id)
    assert pending.state is OperationState.PENDING
    assert pending.requested_by == "alice"
    assert pending.kind == "ca.create-root"

    done = app.dual_control.approve(BOB, operation_id)

    assert done.state is OperationState.EXECUTED, done.result
    assert [a.approver for a in done.approvals] == ["bob"]
    assert "second-root" in ca_names(app, admin)
    created = next(e for e in app.audit.search(admin, AuditFilter(action="ca.created"), 10))
    assert created.actor == "alice"  # the requester's operation, run after approval
    assert actions(app, admin, "operation.") == ["operation.executed", "operation.approved", "operation.requested"]


def test_the_requester_cannot_approve_their_own_operation(app: wiring.Application, admin: Principal) -> None:
    turn_on(app, admin)
    operation_id = requested(app)
    with pytest.raises(Forbidden, match="cannot approve"):
        app.dual_control.approve(ALICE, operation_id)
    assert app.dual_control.get(admin, operation_id).state is OperationState.PENDING
    assert "second-root" not in ca_names(app, admin)
    refused = app.audit.search(admin, AuditFilter(action="operation.approve-refused"), 10)
    assert [(e.actor, e.outcome) for e in refused] == [("alice", "denied")]


def test_the_same_administrator_approving_twice_counts_once(app: wiring.Application, admin: Principal) -> None:
    turn_on(app, admin, approvals=2)
    operation_id = requested(app)
    first = app.dual_control.approve(BOB, operation_id)
    assert first.state is OperationState.PENDING and len(first.approvals) == 1
    with pytest.raises(Conflict, match="already approved"):
        app.dual_control.approve(BOB, operation_id)
    assert "second-root" not in ca_names(app, admin)
    assert len(app.dual_control.get(admin, operation_id).approvals) == 1

    done = app.dual_control.approve(CAROL, operation_id)
    assert done.state is OperationState.EXECUTED
    assert {a.approver for a in done.approvals} == {"bob", "carol"}
    assert "second-root" in ca_names(app, admin)


def test_approvals_expire(app: wiring.Application, admin: Principal, clock: FixedClock) -> None:
    turn_on(app, admin)
    app.policies.set(admin, EXPIRY_POLICY, 2)  # shorter: stricter, at once
    operation_id = requested(app)
    clock.advance(dt.timedelta(hours=2, seconds=1))
    with pytest.raises(Conflict, match="expired"):
        app.dual_control.approve(BOB, operation_id)
    assert app.dual_control.get(admin, operation_id).state is OperationState.EXPIRED
    assert "second-root" not in ca_names(app, admin)
    with pytest.raises(Conflict, match="expired"):
        app.dual_control.approve(CAROL, operation_id)


def test_a_rejected_operation_never_runs(app: wiring.Application, admin: Principal) -> None:
    turn_on(app, admin)
    operation_id = requested(app)
    rejected = app.dual_control.reject(BOB, operation_id, "not in the change calendar")
    assert rejected.state is OperationState.REJECTED
    with pytest.raises(Conflict, match="rejected"):
        app.dual_control.approve(CAROL, operation_id)
    assert "second-root" not in ca_names(app, admin)


def test_only_administrators_approve(app: wiring.Application, admin: Principal) -> None:
    turn_on(app, admin)
    operation_id = requested(app)
    with pytest.raises(Forbidden):
        app.dual_control.approve(AUDITOR, operation_id)
    with pytest.raises(Forbidden):
        app.dual_control.list(Principal("rita", frozenset({Role.REQUESTER})))
    with pytest.raises(NotFound):
        app.dual_control.approve(BOB, "0123456789abcdef")


def test_two_simultaneous_last_approvals_run_the_operation_once(app: wiring.Application, admin: Principal) -> None:
    turn_on(app, admin)
    operation_id = requested(app)
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def approve(approver: Principal) -> None:
        barrier.wait()
        try:
            outcomes.append(app.dual_control.approve(approver, operation_id).state)
        except Conflict as refused:
            outcomes.append(refused)

    threads = [threading.Thread(target=approve, args=(p,)) for p in (BOB, CAROL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    executed = [o for o in outcomes if o is OperationState.EXECUTED]
    assert len(executed) == 1, outcomes
    assert len(app.audit.search(admin, AuditFilter(action="ca.created"), 10)) == 1
    assert app.dual_control.get(admin, operation_id).state is OperationState.EXECUTED


def test_granting_a_role_is_dual_controlled(app: wiring.Application, admin: Principal) -> None:
    app.accounts.add_user(admin, "dave", "a long enough passphrase")
    turn_on(app, admin)
    with pytest.raises(ApprovalRequired) as raised:
        app.accounts.grant(ALICE, NewGrant(Role.ADMINISTRATOR, user="dave"))
    assert app.accounts.list_grants(admin) == () or all(g.grantee != "dave" for g in app.accounts.list_grants(admin))
    done = app.dual_control.approve(BOB, raised.value.sub_errors[0].detail)
    assert done.state is OperationState.EXECUTED
    assert any(g.grantee == "dave" and g.role is Role.ADMINISTRATOR for g in app.accounts.list_grants(admin))


def test_switching_dual_control_off_needs_approval_switching_it_on_does_not(
    app: wiring.Application, admin: Principal
) -> None:
    turn_on(app, admin)
    assert app.policies.current(admin)[APPROVALS_POLICY] == 1
    with pytest.raises(ApprovalRequired) as raised:
        app.policies.set(ALICE, APPROVALS_POLICY, 0)
    assert app.policies.current(admin)[APPROVALS_POLICY] == 1  # still on
    app.dual_control.approve(BOB, raised.value.sub_errors[0].detail)
    assert app.policies.current(admin)[APPROVALS_POLICY] == 0


def test_a_failing_approved_operation_is_recorded_as_failed(app: wiring.Application, admin: Principal) -> None:
    turn_on(app, admin)
    operation_id = requested(app)
    with pytest.raises(ApprovalRequired):  # the same CA asked for twice: the second will fail when run
        app.hierarchy.create_root(CAROL, NEW_ROOT)
    app.dual_control.approve(BOB, operation_id)
    second = next(o for o in app.dual_control.list(admin, OperationState.PENDING))
    failed = app.dual_control.approve(ALICE, second.operation_id)
    assert failed.state is OperationState.FAILED
    assert "second-root" in failed.result
    executed = app.audit.search(admin, AuditFilter(action="operation.executed"), 10)
    assert [e.outcome for e in executed] == ["failure", "success"]


def test_service_tokens_and_the_host_operator_cannot_be_the_second_person(
    app: wiring.Application, admin: Principal
) -> None:
    turn_on(app, admin)
    operation_id = requested(app)
    service = app.tokens.authenticate(app.tokens.create(admin, "robot", frozenset({Role.ADMINISTRATOR})).token)
    assert service.kind == "service"
    for principal in (service, admin):  # admin: the CLI operator on the CA host
        with pytest.raises(Forbidden, match="not a user account"):
            app.dual_control.approve(principal, operation_id)
    assert app.dual_control.get(admin, operation_id).state is OperationState.PENDING
