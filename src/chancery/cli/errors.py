"""How the CLI reports errors: a red line on stderr and an exit code per error kind."""

from __future__ import annotations

from chancery.errors import ErrorKind

# Exhaustive: tests/architecture checks every ErrorKind has a row.
EXIT_CODES: dict[ErrorKind, int] = {
    ErrorKind.MALFORMED: 2,
    ErrorKind.PAYLOAD_TOO_LARGE: 2,
    ErrorKind.UNSUPPORTED_MEDIA_TYPE: 2,
    ErrorKind.NOT_ACCEPTABLE: 2,
    ErrorKind.REJECTED_IDENTIFIER: 2,
    ErrorKind.BAD_CSR: 2,
    ErrorKind.BAD_PUBLIC_KEY: 2,
    ErrorKind.LINT_FAILED: 2,
    ErrorKind.BAD_REVOCATION_REASON: 2,
    ErrorKind.NOT_FOUND: 3,
    ErrorKind.CONFLICT: 4,
    ErrorKind.ALREADY_REVOKED: 4,
    ErrorKind.UNAUTHORIZED: 5,
    ErrorKind.FORBIDDEN: 5,
    ErrorKind.KEYSTORE_UNAVAILABLE: 6,
    ErrorKind.CONFIGURATION: 7,
    ErrorKind.RATE_LIMITED: 8,
    ErrorKind.APPROVAL_REQUIRED: 10,
    ErrorKind.INTERNAL: 1,
}
