"""ACME problem documents (RFC 8555 §6.7, RFC 7807): one exhaustive table from error kinds, and
an error's own ACME type when it names one."""

from __future__ import annotations

from typing import Any

from chancery.errors import CAError, ErrorKind
from chancery.protocols.acme.jws import ALGORITHMS
from chancery.services.acme.errors import acme_type

PREFIX = "urn:ietf:params:acme:error:"
CONTENT_TYPE = "application/problem+json"

TYPE_BY_KIND: dict[ErrorKind, tuple[str, int]] = {
    ErrorKind.MALFORMED: ("malformed", 400),
    ErrorKind.UNAUTHORIZED: ("unauthorized", 403),
    ErrorKind.FORBIDDEN: ("unauthorized", 403),
    ErrorKind.NOT_FOUND: ("malformed", 404),
    ErrorKind.CONFLICT: ("malformed", 409),
    ErrorKind.RATE_LIMITED: ("rateLimited", 429),
    ErrorKind.PAYLOAD_TOO_LARGE: ("malformed", 413),
    ErrorKind.UNSUPPORTED_MEDIA_TYPE: ("malformed", 415),
    ErrorKind.NOT_ACCEPTABLE: ("malformed", 406),
    ErrorKind.REJECTED_IDENTIFIER: ("rejectedIdentifier", 400),
    ErrorKind.BAD_CSR: ("badCSR", 400),
    ErrorKind.BAD_PUBLIC_KEY: ("badPublicKey", 400),
    ErrorKind.LINT_FAILED: ("badCSR", 400),
    ErrorKind.BAD_REVOCATION_REASON: ("badRevocationReason", 400),
    ErrorKind.ALREADY_REVOKED: ("alreadyRevoked", 400),
    ErrorKind.APPROVAL_REQUIRED: ("unauthorized", 403),
    ErrorKind.KEYSTORE_UNAVAILABLE: ("serverInternal", 503),
    ErrorKind.CONFIGURATION: ("serverInternal", 500),
    ErrorKind.INTERNAL: ("serverInternal", 500),
}
_STATUS_BY_TYPE = {"badNonce": 400, "accountDoesNotExist": 400, "orderNotReady": 403, "conflict": 409}


def problem(error: CAError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and problem document for ``error``."""
    kind_type, status = TYPE_BY_KIND[error.kind]
    named = acme_type(error)
    document: dict[str, Any] = {"type": PREFIX + (named or kind_type), "detail": error.detail, "status": 0}
    status = _STATUS_BY_TYPE.get(named or "", status)
    document["status"] = status
    if error.sub_errors:
        document["subproblems"] = [_subproblem(kind_type, sub.identifier, sub.detail) for sub in error.sub_errors]
    if named == "badSignatureAlgorithm":
        document["algorithms"] = list(ALGORITHMS)
    return status, document


def _subproblem(kind: str, identifier: str, detail: str) -> dict[str, Any]:
    id_type, _, value = identifier.partition(":")
    return {"type": PREFIX + kind, "detail": detail, "identifier": {"type": id_type, "value": value}}
