"""Signing the audit chain's newest hash with the audit key (an Ed25519 key in the key store).

Whoever can write to the database could recompute every hash after an edit;
they cannot sign a checkpoint without the key store's passphrase. The
maintenance loop checkpoints every pass (``revocation_interval_seconds``, when
there are new entries); ``chancery audit checkpoint`` does it at once.
"""

from __future__ import annotations

from chancery.clock import Clock
from chancery.domain.audit import AuditCheckpoint, checkpoint_message
from chancery.domain.keytypes import KeyType
from chancery.keys.base import KeyPurpose, KeyStore
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork

AUDIT_KEY_POLICY = "audit.key-id"


class AuditCheckpointer:
    def __init__(self, transactions: Transactions, writer: DurableWriter, keys: KeyStore, clock: Clock) -> None:
        self._tx = transactions
        self._writer = writer
        self._keys = keys
        self._clock = clock

    def ensure_key(self) -> str:
        """The audit key's id, generating the key the first time (``chancery init``)."""
        with self._tx.read() as uow:
            key_id = uow.policies.get(AUDIT_KEY_POLICY)
        if key_id:
            return key_id
        key = self._keys.generate(KeyType.ED25519, KeyPurpose.AUDIT)
        now = self._clock.now()

        def record(uow: UnitOfWork) -> str:
            existing = uow.policies.get(AUDIT_KEY_POLICY)
            if existing:  # another node was first
                return existing
            uow.policies.put(AUDIT_KEY_POLICY, key.key_id, now, "chancery")
            return key.key_id

        chosen = self._writer.run(record)
        if chosen != key.key_id:
            self._keys.destroy(key.key_id)
        return chosen

    def checkpoint(self) -> AuditCheckpoint | None:
        """Sign the newest entry if it is not signed yet; ``None`` when there is nothing new."""
        with self._tx.read() as uow:
            sequence, entry_hash = uow.audit.head()
            latest = uow.audit.latest_checkpoint()
            key_id = uow.policies.get(AUDIT_KEY_POLICY)
        if sequence == 0 or (latest is not None and latest.sequence >= sequence) or not key_id:
            return None
        signed_at = self._clock.now()
        signature = self._keys.load(key_id).sign(checkpoint_message(sequence, entry_hash, signed_at), None)
        checkpoint = AuditCheckpoint(sequence, entry_hash, signed_at, key_id, signature)

        def add(uow: UnitOfWork) -> None:
            newest = uow.audit.latest_checkpoint()
            if newest is None or newest.sequence < sequence:
                uow.audit.add_checkpoint(checkpoint)

        self._writer.run(add)
        return checkpoint
