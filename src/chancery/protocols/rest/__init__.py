"""The REST API under ``/api/v1``: bearer-token authenticated, RFC 9457 problem documents for errors."""
