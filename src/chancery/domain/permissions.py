"""What a principal may be allowed to do."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    CA_READ = "ca:read"
    CA_MANAGE = "ca:manage"
    CERT_READ = "certificate:read"
    CERT_ISSUE = "certificate:issue"
    CERT_REVOKE = "certificate:revoke"
    KEY_EXPORT = "key:export"
    TOKEN_MANAGE = "token:manage"  # noqa: S105 - a permission name
    PROFILE_READ = "profile:read"
    PROFILE_MANAGE = "profile:manage"
    LINT_DISABLE = "profile:disable-lint"  # switching a profile's lint off: administrators only
    USER_READ = "user:read"
    USER_MANAGE = "user:manage"  # users, groups, role grants, directory settings
    AUDIT_READ = "audit:read"
    APPROVE = "operation:approve"  # dual control: approving another administrator's operation
    POLICY_MANAGE = "policy:manage"
    RA_MANAGE = "ra:manage"  # creating RAs and setting their approval policies
    ACME_MANAGE = "acme:manage"  # ACME directories, EAB keys, deactivating accounts and revoking their certificates
    REQUEST_SUBMIT = "request:submit"  # submitting to an RA as oneself (anonymous submission is the RA's policy)
    REQUEST_READ = "request:read"  # an RA's queue and the details of its requests
    REQUEST_APPROVE = "request:approve"  # approving or denying requests to an RA
    NOTIFY_MANAGE = "notify:manage"  # webhook subscriptions, SMTP settings, the delivery log: administrators only
