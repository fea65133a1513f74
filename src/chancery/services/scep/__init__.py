"""SCEP (RFC 8894): the RAs that answer it, one-time challenges, and enrollment over the RA."""
