"""Officers' decisions on pending requests: approve (M of N distinct people), deny, cancel, expire.

Rules (DESIGN.md invariant 4): the requester never approves their own request;
nobody counts twice; approvals come from people (user accounts), never from
service tokens; an approval counts only while its approver still may approve
(still enabled, still holding the role, still in the group). The approval that
completes the count claims the request in the same transaction (the row is
locked), so concurrent approvals issue exactly once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from chancery.clock import Clock
from chancery.domain.audit import AuditEvent, Outcome
from chancery.domain.identity import dn_key
from chancery.domain.permissions import Permission
from chancery.domain.principals import SYSTEM, Principal, Role
from chancery.domain.registration import (
    ANONYMOUS,
    ProfilePolicy,
    RaRecord,
    RequestApproval,
    RequestRecord,
    RequestState,
    normalise_request_id,
)
from chancery.errors import CAError, Conflict, Forbidden, Malformed, NotFound
from chancery.services.authorization import ROLE_PERMISSIONS, allows, require
from chancery.services.identity.principals import principal_for
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.profiles.preview import Preview, ProfilePreviews
from chancery.services.registration.changes import RequestChange, RequestNotifications
from chancery.services.registration.fulfilment import Fulfilment

MAX_COMMENT = 1000
INTERRUPTED_AFTER = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Decision:
    request_id: str
    comment: str = ""


class RequestDecisions:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        previews: ProfilePreviews,
        fulfilment: Fulfilment,
        notifications: RequestNotifications,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._previews = previews
        self._fulfilment = fulfilment
        self._notifications = notifications

    # -- reading ---------------------------------------------------------------------------------

    def queue(
        self,
        principal: Principal,
        states: tuple[RequestState, ...] = (RequestState.PENDING,),
        ra: str | None = None,
        limit: int = 200,
    ) -> tuple[RequestRecord, ...]:
        """The requests ``principal`` may see (``request:read`` on their RA, CA and profile), newest first."""
        with self._tx.read() as uow:
            ras = {record.name: record for record in uow.registration.list_ras()}
            if ra is not None and ra not in ras:
                raise NotFound(f"no RA named {ra!r}")
            visible = tuple(name for name, record in ras.items() if _may(principal, Permission.REQUEST_READ, record))
            if ra is not None:
                visible = tuple(name for name in visible if name == ra)
            if not visible:
                require(principal, Permission.REQUEST_READ, ra=ra)  # says why
            found = uow.registration.list_requests(states, visible, limit=limit)
        return tuple(r for r in found if _may(principal, Permission.REQUEST_READ, ras[r.ra], r.profile))

    def details(self, principal: Principal, request_id: str) -> RequestRecord:
        """A request with everything an officer sees."""
        request, ra = self._load(request_id)
        require(principal, Permission.REQUEST_READ, ra.ca, request.profile, ra.name)
        return request

    def lint_preview(self, principal: Principal, request_id: str) -> Preview | None:
        """What the CA would sign for a CSR request, and the linter's findings (``None``: no CSR)."""
        request = self.details(principal, request_id)
        if request.csr is None:
            return None
        # Reading the request (checked above) covers reading its profile: an officer's grant is
        # often scoped to the RA alone, which an unscoped profile:read check would refuse.
        return self._previews.preview(SYSTEM, request.profile, request.ca, request.csr)

    # -- deciding ----------------------------------------------------------------------------------

    def approve(self, principal: Principal, decision: Decision) -> RequestRecord:
        """Add ``principal``'s approval; the one that completes the count has the request carried out."""
        comment = _comment(decision.comment)
        request_id, ra = self._resolve(decision.request_id)
        now = self._clock.now()

        def approve(uow: UnitOfWork) -> tuple[RequestRecord, CAError | None, bool]:
            request, problem = _pending(uow, request_id, now)
            policy = ra.policy(request.profile) or ProfilePolicy()
            if problem is None:
                problem = _approval_problem(uow, principal, request, ra, policy)
            if problem is not None:
                details = {"reason": problem.detail}
                event = _event("request.approve-refused", principal.name, request, ra, Outcome.DENIED, details)
                uow.audit.append([event], now)
                return request, problem, False
            uow.registration.add_approval(request_id, RequestApproval(principal.name, now, comment))
            approved = uow.registration.get_request(request_id)
            assert approved is not None
            counted = [a.approver for a in approved.approvals if _still_counts(uow, a.approver, approved, ra, policy)]
            complete = len(counted) >= request.approvals_required
            if complete:
                uow.registration.move(request_id, RequestState.PENDING, RequestState.APPROVED, decided_at=now)
                approved = uow.registration.get_request(request_id)
                assert approved is not None
            details = {"comment": comment, "counted": counted, "required": request.approvals_required}
            uow.audit.append([_event("request.approved", principal.name, approved, ra, details=details)], now)
            event = "approved" if complete else "approval"
            self._notifications.record(uow, RequestChange(approved, ra, event, principal.name, now))
            return approved, None, complete

        request, problem, complete = self._writer.run(approve)
        if problem is not None:
            raise problem
        self._notifications.wake()
        return self._fulfilment.fulfil(request, ra) if complete else request

    def deny(self, principal: Principal, decision: Decision) -> RequestRecord:
        reason = _comment(decision.comment)
        request_id, ra = self._resolve(decision.request_id)
        return self._close(principal, request_id, ra, RequestState.DENIED, reason)

    def cancel(self, principal: Principal | None, decision: Decision) -> RequestRecord:
        """By its requester (an anonymous request by whoever holds its ID), or by an officer."""
        reason = _comment(decision.comment)
        request_id, ra = self._resolve(decision.request_id)
        return self._close(principal, request_id, ra, RequestState.CANCELLED, reason)

    def expire_due(self) -> int:
        """Mark pending requests past their lifetime expired (the maintenance loop runs this)."""
        now = self._clock.now()
        with self._tx.read() as uow:
            due = uow.registration.due_to_expire(now)
        for request_id in due:
            self._writer.run(lambda uow, request_id=request_id: _expire(uow, request_id, now, self._notifications))
        if due:
            self._notifications.wake()
        return len(due)

    def resume_interrupted(self) -> int:
        """Carry out approved requests whose fulfilment was interrupted (a crash or restart between the
        claim and the outcome), once :data:`INTERRUPTED_AFTER` has passed. Each is re-claimed first, so
        one node resumes it. If the crash came after the CA stored the certificate, the request gets a
        second one: both are recorded, so the first can still be found and revoked."""
        now = self._clock.now()
        cutoff = now - INTERRUPTED_AFTER
        with self._tx.read() as uow:
            stuck = uow.registration.list_requests((RequestState.APPROVED,), limit=100)
        resumed = 0
        for request in stuck:
            if request.decided_at is None or request.decided_at >= cutoff:
                continue
            if not self._writer.run(lambda uow, r=request: uow.registration.reclaim(r.request_id, cutoff, now)):
                continue  # another node took it
            with self._tx.read() as uow:
                ra = uow.registration.get_ra(request.ra)
            if ra is not None:
                self._fulfilment.fulfil(request, ra)
                resumed += 1
        return resumed

    def _close(
        self, principal: Principal | None, request_id: str, ra: RaRecord, state: RequestState, reason: str
    ) -> RequestRecord:
        now = self._clock.now()
        actor = principal.name if principal is not None else ANONYMOUS

        def close(uow: UnitOfWork) -> tuple[RequestRecord, CAError | None]:
            request, problem = _pending(uow, request_id, now)
            policy = ra.policy(request.profile) or ProfilePolicy()
            if problem is None:
                problem = _closing_problem(uow, principal, request, ra, policy, state, reason)
            if problem is not None:
                refused = "request.deny-refused" if state is RequestState.DENIED else "request.cancel-refused"
                uow.audit.append([_event(refused, actor, request, ra, Outcome.DENIED, {"reason": problem.detail})], now)
                return request, problem
            uow.registration.move(
                request_id, RequestState.PENDING, state, decided_by=actor, decided_at=now, reason=reason
            )
            closed = uow.registration.get_request(request_id)
            assert closed is not None
            uow.audit.append([_event(f"request.{state.value}", actor, closed, ra, details={"reason": reason})], now)
            self._notifications.record(uow, RequestChange(closed, ra, state.value, actor, now))
            return closed, None

        request, problem = self._writer.run(close)
        if problem is not None:
            raise problem
        self._notifications.wake()
        return request

    def _resolve(self, request_id: str) -> tuple[str, RaRecord]:
        request, ra = self._load(request_id)
        return request.request_id, ra

    def _load(self, request_id: str) -> tuple[RequestRecord, RaRecord]:
        canonical = normalise_request_id(request_id)
        with self._tx.read() as uow:
            request = uow.registration.get_request(canonical) if canonical else None
            ra = uow.registration.get_ra(request.ra) if request is not None else None
        if request is None or ra is None:
            raise NotFound("no such request")
        return request, ra


def may_approve(
    principal: Principal, ra: RaRecord, profile: str, policy: ProfilePolicy, groups: tuple[str, ...]
) -> bool:
    """Whether ``principal`` (whose groups are ``groups``, see :func:`groups_of`) may approve ``profile``
    requests at ``ra``: a grant of the policy's approver role (or administrator) covering the RA, its CA
    and the profile, and membership of the policy's group when it names one (a Chancery group by name,
    or a directory group by DN)."""
    roles = {policy.approver_role, Role.ADMINISTRATOR}
    granted = any(
        grant.role in roles
        and Permission.REQUEST_APPROVE in ROLE_PERMISSIONS[grant.role]
        and grant.covers(ra.ca, profile, ra.name)
        for grant in principal.all_grants
    )
    if policy.approver_group is None:
        return granted
    wanted = dn_key(policy.approver_group) if "=" in policy.approver_group else policy.approver_group
    return granted and wanted in groups


def groups_of(uow: UnitOfWork, name: str) -> tuple[str, ...]:
    """``name``'s Chancery groups, and (LDAP users) the keys of the directory groups seen at its last login."""
    user = uow.users.get(name)
    directory = tuple(dn_key(dn) for dn in user.directory_groups) if user is not None else ()
    return (*uow.groups.of_user(name), *directory)


def _approval_problem(
    uow: UnitOfWork, principal: Principal, request: RequestRecord, ra: RaRecord, policy: ProfilePolicy
) -> CAError | None:
    if not principal.is_person:
        return Forbidden(f"{principal.name} is not a user account; approvals come from people who log in")
    if request.requester == principal.name:
        return Forbidden(f"{principal.name} submitted request {request.request_id} and cannot approve it")
    if not may_approve(principal, ra, request.profile, policy, groups_of(uow, principal.name)):
        who = policy.approver_role.value + (f" in group {policy.approver_group}" if policy.approver_group else "")
        return Forbidden(f"{principal.name} may not approve {request.profile} requests at RA {ra.name} (needs {who})")
    if any(a.approver == principal.name for a in request.approvals):
        return Conflict(f"{principal.name} has already approved request {request.request_id}")
    return None


def _closing_problem(
    uow: UnitOfWork,
    principal: Principal | None,
    request: RequestRecord,
    ra: RaRecord,
    policy: ProfilePolicy,
    state: RequestState,
    reason: str,
) -> CAError | None:
    if state is RequestState.DENIED:
        if principal is None or not principal.is_person:
            return Forbidden("requests are denied by officers who log in")
        if not may_approve(principal, ra, request.profile, policy, groups_of(uow, principal.name)):
            return Forbidden(f"{principal.name} may not deny {request.profile} requests at RA {ra.name}")
        if policy.deny_needs_reason and not reason.strip():
            return Malformed(f"RA {ra.name} needs a reason to deny a request")
        return None
    # An anonymous request's ID is its only credential: whoever holds it may withdraw it, logged in or not.
    own = request.requester == ANONYMOUS or (principal is not None and principal.name == request.requester)
    if own:
        return None
    if principal is not None and may_approve(principal, ra, request.profile, policy, groups_of(uow, principal.name)):
        return None
    return Forbidden("only the requester or an officer of the RA may cancel a request")


def _still_counts(uow: UnitOfWork, approver: str, request: RequestRecord, ra: RaRecord, policy: ProfilePolicy) -> bool:
    """An earlier approval counts only if its approver still may approve now."""
    user = uow.users.get(approver)
    if user is None or user.disabled or approver == request.requester:
        return False
    return may_approve(principal_for(uow, user), ra, request.profile, policy, groups_of(uow, approver))


def _pending(uow: UnitOfWork, request_id: str, now: dt.datetime) -> tuple[RequestRecord, CAError | None]:
    """The request, locked, and why it cannot be decided on (expired ones are marked so)."""
    request = uow.registration.get_request(request_id, for_update=True)
    if request is None:
        raise NotFound("no such request")
    if request.expired_at(now):
        uow.registration.move(request_id, RequestState.PENDING, RequestState.EXPIRED, decided_at=now)
        return request, Conflict(f"request {request_id} expired at {request.expires_at:%Y-%m-%d %H:%M}Z")
    if request.state is not RequestState.PENDING:
        return request, Conflict(f"request {request_id} is {request.state.value}")
    return request, None


def _expire(uow: UnitOfWork, request_id: str, now: dt.datetime, notifications: RequestNotifications) -> None:
    request = uow.registration.get_request(request_id, for_update=True)
    if request is None or not request.expired_at(now):
        return
    ra = uow.registration.get_ra(request.ra)
    uow.registration.move(request_id, RequestState.PENDING, RequestState.EXPIRED, decided_at=now)
    expired = uow.registration.get_request(request_id)
    assert expired is not None and ra is not None
    uow.audit.append([_event("request.expired", "chancery", expired, ra)], now)
    notifications.record(uow, RequestChange(expired, ra, "expired", "chancery", now))


def _may(principal: Principal, permission: Permission, ra: RaRecord, profile: str | None = None) -> bool:
    if profile is not None:
        return allows(principal, permission, ra.ca, profile, ra.name)
    return any(allows(principal, permission, ra.ca, p, ra.name) for p in ra.profiles)


def _comment(text: str) -> str:
    if len(text) > MAX_COMMENT:
        raise Malformed(f"comments are at most {MAX_COMMENT} characters")
    return text.strip()


def _event(
    action: str,
    actor: str,
    request: RequestRecord,
    ra: RaRecord,
    outcome: Outcome = Outcome.SUCCESS,
    details: dict[str, object] | None = None,
) -> AuditEvent:
    base = {"ra": ra.name, "profile": request.profile, "kind": request.kind.value}
    return AuditEvent(action, actor, outcome, ra.ca, request.request_id, {**base, **(details or {})})
