"""EMV scheme CA and issuer workflows on top of the ``emv`` formats and the key store."""
