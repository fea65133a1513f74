"""Revocation services: per-CA settings, CRL publication (full, delta, partitioned), the OCSP
responder with pre-signed responses, delegated responders, bulk revocation, and the
maintenance that keeps all of it fresh (elected once per cluster)."""
