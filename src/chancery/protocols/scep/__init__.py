"""SCEP over HTTP (RFC 8894 §4): ``/scep`` (the default SCEP RA) and ``/scep/{ra}``."""
