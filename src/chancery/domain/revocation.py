"""Revocation reasons (RFC 5280 §5.3.1)."""

from __future__ import annotations

from enum import Enum

from chancery.errors import BadRevocationReason


class RevocationReason(Enum):
    """CRLReason codes; the value is the RFC 5280 code."""

    unspecified = 0
    keyCompromise = 1
    cACompromise = 2
    affiliationChanged = 3
    superseded = 4
    cessationOfOperation = 5
    certificateHold = 6
    # 7 is not used (RFC 5280 §5.3.1)
    removeFromCRL = 8
    privilegeWithdrawn = 9
    aACompromise = 10

    @classmethod
    def parse(cls, text: str) -> RevocationReason:
        """Accept the RFC name in any case, with or without '-'/'_' (``key-compromise``).

        ``removeFromCRL`` is only meaningful in delta CRLs and is refused as a
        reason to revoke; so are unknown names. Raises :class:`BadRevocationReason`.
        """
        wanted = text.replace("-", "").replace("_", "").lower()
        for reason in cls:
            if reason.name.lower() == wanted:
                if reason is cls.removeFromCRL:
                    raise BadRevocationReason(
                        "removeFromCRL is not a revocation reason; release a hold instead (RFC 5280 §5.3.1)"
                    )
                return reason
        names = ", ".join(r.name for r in cls if r is not cls.removeFromCRL)
        raise BadRevocationReason(f"unknown revocation reason {text[:40]!r}; use one of: {names}")

    @property
    def is_hold(self) -> bool:
        return self is RevocationReason.certificateHold
