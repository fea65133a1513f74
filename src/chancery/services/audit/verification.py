"""Checking the audit log: every hash, every link, the head, and every checkpoint's signature.

``chancery audit verify`` reports the first entry that is wrong and why:
altered (its hash does not match its content), missing (a gap in the sequence,
or entries after it gone), or not following its predecessor (an entry before
it was changed and its hash recomputed, which only a checkpoint signature can
catch when the chain was recomputed to the end).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from chancery.domain.audit import GENESIS_HASH, AuditCheckpoint, record_hash
from chancery.errors import CAError
from chancery.keys.base import KeyPurpose, KeyStore
from chancery.services.ports import Transactions, UnitOfWork


@dataclass(frozen=True)
class AuditReport:
    intact: bool
    entries: int
    checkpoints: int
    first_bad: int | None = None  # the sequence number of the first bad entry
    problem: str = ""
    newest: int = 0
    newest_signed: int = 0  # entries after this one are not covered by a checkpoint yet


class AuditVerifier:
    def __init__(self, transactions: Transactions, keys: KeyStore) -> None:
        self._tx = transactions
        self._keys = keys

    def verify(self) -> AuditReport:
        with self._tx.read() as uow:
            checkpoints = uow.audit.checkpoints()
            head_sequence, head_hash = uow.audit.head()
            return self._walk(uow, checkpoints, head_sequence, head_hash)

    def _walk(
        self, uow: UnitOfWork, checkpoints: list[AuditCheckpoint], head_sequence: int, head_hash: str
    ) -> AuditReport:
        signed = {c.sequence: c for c in checkpoints}
        expected_sequence, previous, count = 1, GENESIS_HASH, 0

        def bad(sequence: int, problem: str) -> AuditReport:
            return AuditReport(False, count, len(checkpoints), sequence, problem, head_sequence, _newest(checkpoints))

        for record in uow.audit.entries():
            if record.sequence != expected_sequence:
                missing = (
                    f"entries {expected_sequence}-{record.sequence - 1} are"
                    if record.sequence > expected_sequence + 1
                    else f"entry {expected_sequence} is"
                )
                return bad(expected_sequence, f"{missing} missing (deleted)")
            if record_hash(record) != record.entry_hash:
                return bad(record.sequence, f"entry {record.sequence} was altered: its content does not match its hash")
            if record.previous_hash != previous:
                return bad(
                    record.sequence,
                    f"entry {record.sequence} does not follow entry {record.sequence - 1}: "
                    "an earlier entry was altered and its hash recomputed, or removed",
                )
            checkpoint = signed.get(record.sequence)
            if checkpoint is not None:
                problem = self._check_signature(checkpoint, record.entry_hash)
                if problem:
                    return bad(record.sequence, problem)
            previous, expected_sequence, count = record.entry_hash, record.sequence + 1, count + 1
        last = expected_sequence - 1
        if head_sequence != last:
            if head_sequence > last:
                return bad(last + 1, f"entries {last + 1}-{head_sequence} are missing (deleted from the end)")
            return bad(head_sequence + 1, f"entries after {head_sequence} were added outside Chancery")
        if head_hash != previous:
            return bad(last, f"entry {last} does not match the recorded head of the log")
        for checkpoint in checkpoints:
            if checkpoint.sequence > last:
                return bad(
                    checkpoint.sequence, f"entry {checkpoint.sequence}, covered by a signed checkpoint, is missing"
                )
        return AuditReport(True, count, len(checkpoints), newest=last, newest_signed=_newest(checkpoints))

    def _check_signature(self, checkpoint: AuditCheckpoint, entry_hash: str) -> str:
        if checkpoint.entry_hash != entry_hash:
            return f"entry {checkpoint.sequence} differs from what the checkpoint signed at {checkpoint.signed_at:%Y-%m-%d %H:%M:%S}Z"
        try:
            if self._keys.purpose(checkpoint.key_id) is not KeyPurpose.AUDIT:
                return f"the checkpoint at entry {checkpoint.sequence} names key {checkpoint.key_id}, which is not the audit key"
            public_key = self._keys.load(checkpoint.key_id).public_key()
        except CAError as error:
            return f"the checkpoint at entry {checkpoint.sequence} names a key that cannot be used ({error.detail})"
        if not isinstance(public_key, ed25519.Ed25519PublicKey):
            return f"the checkpoint at entry {checkpoint.sequence} names a key that is not an Ed25519 audit key"
        try:
            public_key.verify(checkpoint.signature, checkpoint.message())
        except InvalidSignature:
            return f"the checkpoint signature at entry {checkpoint.sequence} does not verify"
        return ""


def _newest(checkpoints: list[AuditCheckpoint]) -> int:
    return checkpoints[-1].sequence if checkpoints else 0
