"""Encrypted backups restored by a custodian quorum (``chancery backup``).

A backup is one file (``container``): a consistent database snapshot taken by the
store (``ports.DatabaseSnapshots``) plus the data directory's own files, as named
parts (``parts``) in an AES-256-GCM chunk stream under a random data key, with an
authenticated manifest (``manifest``). The data key is split M-of-N with
``keys.shamir``; each share is wrapped by the installation's backup key
(``keys.backup_key``) and encrypted under its custodian's passphrase
(``custodians``). ``creation``, ``verification`` and ``restoration`` are the use
cases; ``placement`` and ``permits`` keep a restore atomic and under dual control.

May import: ``domain``, ``errors``, ``clock``, ``keys.shamir``, ``keys.sealing``
(KDF parameters), other services. Never ``store`` or ``keys.software``: the
composition root hands in the adapters.
"""
