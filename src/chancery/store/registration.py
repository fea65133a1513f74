"""Registration authorities, their policies, and the requests they hold."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from chancery.domain.principals import Role
from chancery.domain.registration import (
    ProfilePolicy,
    RaRecord,
    RequestApproval,
    RequestKind,
    RequestRecord,
    RequestState,
)
from chancery.errors import Conflict
from chancery.store.tables import ra_profile_policies, ra_request_approvals, ra_requests, registration_authorities

_REQUEST_COLUMNS = (
    "ca_name",
    "profile",
    "kind",
    "state",
    "requester",
    "submitted_at",
    "expires_at",
    "approvals_required",
    "subject",
    "key_summary",
    "csr",
    "key_type",
    "target_serial",
    "revocation_reason",
    "contact_email",
    "decided_by",
    "decided_at",
    "reason",
    "serial",
    "error",
    "pickup_hash",
    "key_id",
    "picked_up_at",
    "validity_days",
)


class RegistrationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- registration authorities ----------------------------------------------------------------

    def add_ra(self, record: RaRecord) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(registration_authorities).values(**_ra_values(record)))
        except IntegrityError:
            raise Conflict(f"an RA named {record.name!r} exists") from None
        self._put_policies(record)

    def save_ra(self, record: RaRecord) -> None:
        values = _ra_values(record)
        del values["name"], values["created_at"], values["created_by"]
        self._conn.execute(
            update(registration_authorities).where(registration_authorities.c.name == record.name).values(**values)
        )
        self._conn.execute(delete(ra_profile_policies).where(ra_profile_policies.c.ra_name == record.name))
        self._put_policies(record)

    def get_ra(self, name: str) -> RaRecord | None:
        query = select(registration_authorities).where(registration_authorities.c.name == name)
        row = self._conn.execute(query).mappings().first()
        return None if row is None else self._ra(row)

    def list_ras(self) -> tuple[RaRecord, ...]:
        rows = self._conn.execute(select(registration_authorities).order_by(registration_authorities.c.name))
        return tuple(self._ra(row) for row in rows.mappings().all())

    def _put_policies(self, record: RaRecord) -> None:
        if record.policies:
            self._conn.execute(
                insert(ra_profile_policies),
                [_policy_values(record.name, profile, policy) for profile, policy in record.policies],
            )

    def _ra(self, row: Any) -> RaRecord:
        query = (
            select(ra_profile_policies)
            .where(ra_profile_policies.c.ra_name == row["name"])
            .order_by(ra_profile_policies.c.profile)
        )
        policies = tuple((p["profile"], _policy(p)) for p in self._conn.execute(query).mappings())
        return RaRecord(
            name=row["name"],
            ca=row["ca_name"],
            policies=policies,
            created_at=row["created_at"],
            created_by=row["created_by"],
            revocation_approvals=row["revocation_approvals"],
            description=row["description"],
            notify_emails=tuple(json.loads(row["notify_emails"])),
        )

    # -- requests ----------------------------------------------------------------------------------

    def add_request(self, record: RequestRecord) -> None:
        values = {column: _column_value(record, column) for column in _REQUEST_COLUMNS}
        self._conn.execute(
            insert(ra_requests).values(
                request_id=record.request_id, ra_name=record.ra, sans=json.dumps(list(record.sans)), **values
            )
        )

    def get_request(self, request_id: str, *, for_update: bool = False) -> RequestRecord | None:
        query = select(ra_requests).where(ra_requests.c.request_id == request_id)
        if for_update:
            query = query.with_for_update()
        row = self._conn.execute(query).mappings().first()
        return None if row is None else self._request(row)

    def list_requests(
        self,
        states: tuple[RequestState, ...] = (),
        ras: tuple[str, ...] | None = None,
        requester: str | None = None,
        limit: int = 200,
    ) -> tuple[RequestRecord, ...]:
        """Newest first; ``ras=None`` means every RA, ``()`` none."""
        if ras == ():
            return ()
        query = select(ra_requests).order_by(ra_requests.c.submitted_at.desc()).limit(limit)
        if states:
            query = query.where(ra_requests.c.state.in_([s.value for s in states]))
        if ras is not None:
            query = query.where(ra_requests.c.ra_name.in_(ras))
        if requester is not None:
            query = query.where(ra_requests.c.requester == requester)
        return tuple(self._request(row) for row in self._conn.execute(query).mappings().all())

    def issued_as(self, ca_name: str, serial: str) -> RequestRecord | None:
        """The issuance or renewal request whose certificate is ``serial`` of CA ``ca_name``."""
        query = select(ra_requests).where(
            ra_requests.c.ca_name == ca_name,
            ra_requests.c.serial == serial,
            ra_requests.c.kind != RequestKind.REVOCATION.value,
        )
        row = self._conn.execute(query).mappings().first()
        return None if row is None else self._request(row)

    def due_to_expire(self, now: dt.datetime, limit: int = 500) -> tuple[str, ...]:
        query = (
            select(ra_requests.c.request_id)
            .where(ra_requests.c.state == RequestState.PENDING.value, ra_requests.c.expires_at <= now)
            .limit(limit)
        )
        return tuple(self._conn.execute(query).scalars().all())

    def uncollected_keys(self, issued_before: dt.datetime, limit: int = 500) -> tuple[str, ...]:
        """Server-side key generation requests issued before ``issued_before`` whose key nobody collected."""
        query = (
            select(ra_requests.c.request_id)
            .where(
                ra_requests.c.kind == RequestKind.KEYGEN.value,
                ra_requests.c.state == RequestState.ISSUED.value,
                ra_requests.c.picked_up_at.is_(None),
                ra_requests.c.decided_at < issued_before,
            )
            .limit(limit)
        )
        return tuple(self._conn.execute(query).scalars().all())

    def add_approval(self, request_id: str, approval: RequestApproval) -> None:
        """Record one approval; :class:`Conflict` if this person approved already."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    insert(ra_request_approvals).values(
                        request_id=request_id,
                        approver=approval.approver,
                        approved_at=approval.approved_at,
                        comment=approval.comment,
                    )
                )
        except IntegrityError:
            raise Conflict(f"{approval.approver} has already approved request {request_id}") from None

    def move(self, request_id: str, frm: RequestState, to: RequestState, **values: Any) -> bool:
        """``frm -> to`` with ``values``, only if the request is still ``frm`` (the claim that makes
        concurrent approvals issue once). False when it had moved on."""
        outcome = self._conn.execute(
            update(ra_requests)
            .where(ra_requests.c.request_id == request_id, ra_requests.c.state == frm.value)
            .values(state=to.value, **values)
        )
        return outcome.rowcount == 1

    def reclaim(self, request_id: str, stale_before: dt.datetime, at: dt.datetime) -> bool:
        """Take over an approved request claimed before ``stale_before`` (its fulfilment was interrupted)."""
        outcome = self._conn.execute(
            update(ra_requests)
            .where(
                ra_requests.c.request_id == request_id,
                ra_requests.c.state == RequestState.APPROVED.value,
                ra_requests.c.decided_at < stale_before,
            )
            .values(decided_at=at)
        )
        return outcome.rowcount == 1

    def claim_pickup(self, request_id: str, at: dt.datetime) -> bool:
        """Mark a generated key collected; False if it already was (it is handed over once)."""
        outcome = self._conn.execute(
            update(ra_requests)
            .where(ra_requests.c.request_id == request_id, ra_requests.c.picked_up_at.is_(None))
            .values(picked_up_at=at)
        )
        return outcome.rowcount == 1

    def update_request(self, request_id: str, **values: Any) -> None:
        self._conn.execute(update(ra_requests).where(ra_requests.c.request_id == request_id).values(**values))

    def _request(self, row: Any) -> RequestRecord:
        approvals = self._conn.execute(
            select(ra_request_approvals)
            .where(ra_request_approvals.c.request_id == row["request_id"])
            .order_by(ra_request_approvals.c.approved_at, ra_request_approvals.c.approver)
        ).mappings()
        return RequestRecord(
            request_id=row["request_id"],
            ra=row["ra_name"],
            ca=row["ca_name"],
            profile=row["profile"],
            kind=RequestKind(row["kind"]),
            state=RequestState(row["state"]),
            requester=row["requester"],
            submitted_at=row["submitted_at"],
            expires_at=row["expires_at"],
            approvals_required=row["approvals_required"],
            subject=row["subject"],
            sans=tuple(json.loads(row["sans"])),
            key_summary=row["key_summary"],
            csr=row["csr"],
            key_type=row["key_type"],
            target_serial=row["target_serial"],
            revocation_reason=row["revocation_reason"],
            contact_email=row["contact_email"],
            approvals=tuple(RequestApproval(a["approver"], a["approved_at"], a["comment"]) for a in approvals),
            decided_by=row["decided_by"],
            decided_at=row["decided_at"],
            reason=row["reason"],
            serial=row["serial"],
            error=row["error"],
            pickup_hash=row["pickup_hash"],
            key_id=row["key_id"],
            picked_up_at=row["picked_up_at"],
            validity_days=row["validity_days"],
        )


def _column_value(record: RequestRecord, column: str) -> Any:
    value = getattr(record, "ca" if column == "ca_name" else column)
    return value.value if isinstance(value, (RequestKind, RequestState)) else value


def _ra_values(record: RaRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "ca_name": record.ca,
        "revocation_approvals": record.revocation_approvals,
        "description": record.description,
        "notify_emails": json.dumps(list(record.notify_emails)),
        "created_at": record.created_at,
        "created_by": record.created_by,
    }


def _policy_values(ra: str, profile: str, policy: ProfilePolicy) -> dict[str, Any]:
    return {
        "ra_name": ra,
        "profile": profile,
        "approvals": policy.approvals,
        "approver_role": policy.approver_role.value,
        "approver_group": policy.approver_group,
        "allow_anonymous": policy.allow_anonymous,
        "lifetime_hours": policy.lifetime_hours,
        "deny_needs_reason": policy.deny_needs_reason,
    }


def _policy(row: Any) -> ProfilePolicy:
    return ProfilePolicy(
        approvals=row["approvals"],
        approver_role=Role(row["approver_role"]),
        approver_group=row["approver_group"],
        allow_anonymous=bool(row["allow_anonymous"]),
        lifetime_hours=row["lifetime_hours"],
        deny_needs_reason=bool(row["deny_needs_reason"]),
    )
