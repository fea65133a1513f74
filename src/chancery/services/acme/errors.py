"""ACME's own problem types (RFC 8555 §6.7), as members of Chancery's error family: each is a
leaf of an existing kind (so every edge can translate it) that names its ACME type."""

from __future__ import annotations

from chancery.errors import CAError, Conflict, Forbidden, Malformed, NotFound, Unauthorized


def acme_type(error: CAError) -> str | None:
    """The ACME problem type an error names itself, if it does."""
    return getattr(error, "acme_type", None)


class BadNonce(Malformed):
    acme_type = "badNonce"


class BadSignatureAlgorithm(Malformed):
    acme_type = "badSignatureAlgorithm"


class AccountDoesNotExist(NotFound):
    acme_type = "accountDoesNotExist"


class ExternalAccountRequired(Unauthorized):
    acme_type = "externalAccountRequired"


class InvalidContact(Malformed):
    acme_type = "invalidContact"


class UnsupportedContact(Malformed):
    acme_type = "unsupportedContact"


class UnsupportedIdentifier(Malformed):
    acme_type = "unsupportedIdentifier"


class OrderNotReady(Forbidden):
    acme_type = "orderNotReady"


class AccountUnauthorized(Unauthorized):
    """The account may not do this (RFC 8555 ``unauthorized``)."""

    acme_type = "unauthorized"


class AcmeConflict(Conflict):
    acme_type = "conflict"
