"""ACME (RFC 8555, RFC 9773 renewal information, RFC 8737 tls-alpn-01): directories, accounts with
external account binding, orders, authorizations and challenges, finalization through the RA,
revocation, rate limits and expiry. The wire (JWS, problem documents) is ``protocols.acme``."""
