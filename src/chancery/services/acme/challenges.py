"""Authorizations and challenges (RFC 8555 §7.5): reading, deactivation, and answering a
challenge, which the validator (``services.validation``) checks on its own bounded pool; the
outcome (and CAA, RFC 8659, when the directory names CAA identities) settles the authorization."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from chancery.clock import Clock
from chancery.domain.acme import (
    AccountRecord,
    AuthzRecord,
    AuthzStatus,
    ChallengeRecord,
    ChallengeStatus,
    DirectoryRecord,
)
from chancery.domain.audit import AuditEvent, Outcome
from chancery.errors import Malformed, NotFound
from chancery.services.acme.auditing import Refusals
from chancery.services.acme.directories import AcmeDirectories
from chancery.services.acme.errors import AccountUnauthorized
from chancery.services.acme.orders import actor
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.validation import CaaCheck, ChallengeCheck, ChallengeValidator, ValidationOutcome

log = logging.getLogger(__name__)
ERROR_PREFIX = "urn:ietf:params:acme:error:"


@dataclass(frozen=True)
class _Settling:
    """What recording a validation's outcome needs."""

    directory: DirectoryRecord
    account: AccountRecord
    account_url: str
    authz: AuthzRecord
    challenge: ChallengeRecord


def problem_json(problem: str, detail: str, **extra: Any) -> str:
    return json.dumps({"type": ERROR_PREFIX + problem, "detail": detail, **extra})


class AcmeChallenges:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        directories: AcmeDirectories,
        validator: ChallengeValidator,
        refusals: Refusals,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._directories = directories
        self._validator = validator
        self._refusals = refusals

    def authz(self, account: AccountRecord, authz_id: str) -> AuthzRecord:
        with self._tx.read() as uow:
            authz = uow.acme.get_authz(authz_id)
        if authz is None or authz.directory != account.directory:
            raise NotFound("no such authorization")
        if authz.account_id != account.account_id:
            details = {"authz": authz_id, "owner": authz.account_id}
            self._refusals.record("acme.authz.refused", actor(account), authz_id, details)
            raise AccountUnauthorized("this authorization belongs to another account")
        if authz.status is AuthzStatus.PENDING and authz.expires_at <= self._clock.now():
            self._writer.run(lambda uow: uow.acme.move_authz(authz_id, (AuthzStatus.PENDING,), AuthzStatus.EXPIRED))
            return self.authz(account, authz_id)
        return authz

    def update_authz(self, account: AccountRecord, authz_id: str, payload: dict[str, Any]) -> AuthzRecord:
        """RFC 8555 §7.5.2: a client deactivates its authorization; POST-as-GET reads it."""
        authz = self.authz(account, authz_id)
        if not payload:
            return authz
        if payload != {"status": "deactivated"}:
            raise Malformed('the only change a client may make to an authorization is {"status": "deactivated"}')
        now = self._clock.now()

        def deactivate(uow: UnitOfWork) -> None:
            if not uow.acme.move_authz(authz_id, (AuthzStatus.PENDING, AuthzStatus.VALID), AuthzStatus.DEACTIVATED):
                raise Malformed(
                    f"the authorization is {authz.status.value}; only pending or valid ones are deactivated"
                )
            uow.audit.append([AuditEvent("acme.authz.deactivated", actor(account), target=authz_id)], now)

        self._writer.run(deactivate)
        return self.authz(account, authz_id)

    def respond(
        self, account: AccountRecord, authz_id: str, challenge_id: str, account_url: str
    ) -> tuple[AuthzRecord, ChallengeRecord]:
        """RFC 8555 §7.5.1: the client is ready; validation starts (once) and runs in the background.
        ``account_url`` is the account's URL as the client knows it (what CAA accounturi names, RFC 8657 §3)."""
        authz = self.authz(account, authz_id)
        challenge = _challenge(authz, challenge_id)
        if challenge.status is not ChallengeStatus.PENDING or authz.status is not AuthzStatus.PENDING:
            return authz, challenge
        now = self._clock.now()

        def start(uow: UnitOfWork) -> bool:
            return uow.acme.move_challenge(challenge_id, ChallengeStatus.PENDING, ChallengeStatus.PROCESSING)

        if self._writer.run(start):
            directory = self._directories.get(account.directory)
            check = ChallengeCheck(
                kind=challenge.type,
                identifier_type=authz.identifier.type,
                identifier=authz.identifier.value,
                token=challenge.token,
                key_authorization=f"{challenge.token}.{account.thumbprint}",
            )
            log.debug("validating %s for %s at %s", challenge.type, authz.identifier.value, now)
            settle = _Settling(directory, account, account_url, authz, challenge)
            self._validator.submit(check, lambda outcome: self._settle(settle, outcome))
        authz = self.authz(account, authz_id)
        return authz, _challenge(authz, challenge_id)

    def _settle(self, settling: _Settling, outcome: ValidationOutcome) -> None:
        try:
            if outcome.valid and settling.directory.policy.caa_identities:
                outcome = self._caa(settling)
            self._record(settling.account, settling.authz, settling.challenge, outcome)
        except Exception:  # the validator's thread: log, never lose the outcome silently
            log.exception("recording the outcome of challenge %s failed", settling.challenge.challenge_id)

    def _caa(self, settling: _Settling) -> ValidationOutcome:
        authz = settling.authz
        request = CaaCheck(
            domain=authz.identifier.value,
            wildcard=authz.wildcard,
            identities=settling.directory.policy.caa_identities,
            account_uri=settling.account_url,  # RFC 8657 §3: the account URL the client was given
            method=settling.challenge.type,
        )
        if authz.identifier.type != "dns":
            return ValidationOutcome(True)
        return self._validator.check_caa(request)

    def _record(
        self, account: AccountRecord, authz: AuthzRecord, challenge: ChallengeRecord, outcome: ValidationOutcome
    ) -> None:
        now = self._clock.now()
        directory = self._directories.get(account.directory)
        error = None if outcome.valid else problem_json(outcome.problem or "incorrectResponse", outcome.detail[:1000])

        def settle(uow: UnitOfWork) -> None:
            status = ChallengeStatus.VALID if outcome.valid else ChallengeStatus.INVALID
            if not uow.acme.move_challenge(
                challenge.challenge_id, ChallengeStatus.PROCESSING, status, validated_at=now, error=error
            ):
                return
            if outcome.valid:
                expires = now + dt.timedelta(days=directory.policy.authz_reuse_days or 1)
                uow.acme.move_authz(authz.authz_id, (AuthzStatus.PENDING,), AuthzStatus.VALID, expires_at=expires)
            else:
                uow.acme.move_authz(authz.authz_id, (AuthzStatus.PENDING,), AuthzStatus.INVALID)
            details = {
                "type": challenge.type,
                "identifier": authz.identifier.value,
                "wildcard": authz.wildcard,
                "problem": outcome.problem,
                "detail": outcome.detail[:500],
            }
            event = AuditEvent(
                f"acme.challenge.{status.value}",
                actor(account),
                Outcome.SUCCESS if outcome.valid else Outcome.FAILURE,
                target=authz.authz_id,
                details=details,
            )
            uow.audit.append([event], now)

        self._writer.run(settle)


def _challenge(authz: AuthzRecord, challenge_id: str) -> ChallengeRecord:
    for challenge in authz.challenges:
        if challenge.challenge_id == challenge_id:
            return challenge
    raise NotFound("no such challenge")
