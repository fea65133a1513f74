"""Key storage: the only package that touches private key material.

``keys.base`` declares the protocols the rest of Chancery uses (a
:class:`~chancery.keys.base.KeyHandle` signs, a :class:`~chancery.keys.base.KeyStore`
generates and finds keys). Backends (``keys.software``, later ``keys.pkcs11``)
implement them. Private keys never leave this package as bytes, are never
written to disk in the clear, and never appear in logs, errors or responses.
"""
