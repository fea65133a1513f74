"""The one error family of Chancery.

Every failure a user can cause is a :class:`CAError` leaf with a ``kind``. Edges
(REST, CLI, protocol adapters) translate kinds into their own error form through
one exhaustive mapping table each; nothing else is translated. ``detail`` is
safe to show to the client: it never holds key material, passphrases, SQL or
stack traces. Anything that is not a ``CAError`` is an internal error whose
detail goes to the log only.

This module imports nothing from Chancery.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    """The categories edges translate (ACME problem, SCEP failInfo, HTTP status, exit code)."""

    MALFORMED = "malformed"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not-found"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate-limited"
    PAYLOAD_TOO_LARGE = "payload-too-large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
    NOT_ACCEPTABLE = "not-acceptable"
    REJECTED_IDENTIFIER = "rejected-identifier"
    BAD_CSR = "bad-csr"
    BAD_PUBLIC_KEY = "bad-public-key"
    LINT_FAILED = "lint-failed"
    BAD_REVOCATION_REASON = "bad-revocation-reason"
    ALREADY_REVOKED = "already-revoked"
    APPROVAL_REQUIRED = "approval-required"
    KEYSTORE_UNAVAILABLE = "keystore-unavailable"
    CONFIGURATION = "configuration"
    INTERNAL = "internal"


@dataclass(frozen=True)
class SubError:
    """A problem with one identifier of a request (ACME subproblems, RFC 8555 §6.7.1)."""

    identifier: str
    detail: str


class CAError(Exception):
    """Base of every error Chancery raises on purpose.

    ``detail`` is user-safe; ``sub_errors`` name per-identifier problems;
    ``retry_after`` (seconds) tells the client when trying again may help.
    """

    kind: ErrorKind = ErrorKind.INTERNAL

    def __init__(
        self,
        detail: str,
        *,
        sub_errors: tuple[SubError, ...] = (),
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.sub_errors = tuple(sub_errors)
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r})"


class Malformed(CAError):
    """The input could not be parsed (bad PEM, DER, JSON, hex, DN string...)."""

    kind = ErrorKind.MALFORMED


class Unauthorized(CAError):
    """No valid credentials were presented."""

    kind = ErrorKind.UNAUTHORIZED


class Forbidden(CAError):
    """The caller is authenticated but may not do this."""

    kind = ErrorKind.FORBIDDEN


class PermissionDenied(Forbidden):
    """An authorisation check refused ``actor`` a ``permission`` (on ``ca``): audited by the edge."""

    def __init__(self, detail: str, *, actor: str, permission: str, ca: str | None = None) -> None:
        super().__init__(detail)
        self.actor = actor
        self.permission = permission
        self.ca = ca


class NotFound(CAError):
    """The named CA, certificate, token or key does not exist."""

    kind = ErrorKind.NOT_FOUND


class Conflict(CAError):
    """The request clashes with the current state (duplicate name, CA not active...)."""

    kind = ErrorKind.CONFLICT


class RateLimited(CAError):
    """Too many requests; ``retry_after`` says when to come back."""

    kind = ErrorKind.RATE_LIMITED


class PayloadTooLarge(CAError):
    """The request body or an element of it exceeds a configured size limit."""

    kind = ErrorKind.PAYLOAD_TOO_LARGE


class UnsupportedMediaType(CAError):
    """The request body's content type is not one this endpoint accepts."""

    kind = ErrorKind.UNSUPPORTED_MEDIA_TYPE


class NotAcceptable(CAError):
    """The client asked for a representation this endpoint cannot produce."""

    kind = ErrorKind.NOT_ACCEPTABLE


class RejectedIdentifier(CAError):
    """A requested name is not allowed by policy or profile."""

    kind = ErrorKind.REJECTED_IDENTIFIER


class BadCSR(CAError):
    """The CSR is unparseable, its signature does not verify, or it breaks the profile."""

    kind = ErrorKind.BAD_CSR


class BadPublicKey(CAError):
    """The public key is of a type, size or curve that the key policy refuses."""

    kind = ErrorKind.BAD_PUBLIC_KEY


class LintFailed(CAError):
    """The certificate the request would produce fails the linter (DESIGN.md invariant 8);
    ``sub_errors`` are the findings (code and message). Nothing was signed."""

    kind = ErrorKind.LINT_FAILED


class BadRevocationReason(CAError):
    """The revocation reason is unknown or not allowed here (RFC 5280 §5.3.1)."""

    kind = ErrorKind.BAD_REVOCATION_REASON


class AlreadyRevoked(CAError):
    """The certificate is already revoked."""

    kind = ErrorKind.ALREADY_REVOKED


class ApprovalRequired(CAError):
    """The operation was recorded and waits for approval."""

    kind = ErrorKind.APPROVAL_REQUIRED


class KeystoreUnavailable(CAError):
    """The key store cannot be used (locked, missing key, unreadable blob)."""

    kind = ErrorKind.KEYSTORE_UNAVAILABLE


class WrongPassphrase(KeystoreUnavailable):
    """The key store passphrase does not open the sealed keys."""


class TokenUnavailable(KeystoreUnavailable):
    """The PKCS#11 module does not load, the token is not there, or it stopped answering."""


class WrongPin(KeystoreUnavailable):
    """The PKCS#11 token refused the PIN (the PIN itself is never quoted)."""


class HsmKeyMissing(KeystoreUnavailable):
    """A key Chancery recorded is not in the token any more, or is not the key it recorded."""


class UnsupportedMechanism(Conflict):
    """The token cannot do what was asked (a key type or signature mechanism it lacks)."""


class KeyLabelNotFound(NotFound):
    """No private key with this label in the token."""


class ConfigurationError(CAError):
    """Settings are invalid; start-up stops."""

    kind = ErrorKind.CONFIGURATION


class InternalError(CAError):
    """Something failed that the user cannot fix; details are logged, not returned."""

    kind = ErrorKind.INTERNAL
