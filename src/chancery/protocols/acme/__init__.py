"""ACME over HTTP (RFC 8555): the router, JWS checks, problem documents and wire messages."""
