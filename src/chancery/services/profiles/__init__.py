"""Profiles as data: the stored versions, the compiled catalog issuance reads, lint before sign."""
