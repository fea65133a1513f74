"""The tamper-evident audit log: checkpoints signed by the audit key, verification, search, export."""
