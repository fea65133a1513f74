"""EMV Book 2 (version 4.4) public-key formats: CA public keys, issuer and ICC public key
certificates, Signed Static and Dynamic Application Data, and their card personalisation TLVs.

These are fixed-layout byte strings signed with RSA message recovery (ISO/IEC 9796-2 scheme 1,
EMV Book 2 Annex A2.1), not X.509. Pure: no I/O, no clock (``today`` is passed in), no key
store. Private operations go through :class:`chancery.emv.rsa.RawSigner`, which the key store's
raw RSA keys satisfy. May import ``chancery.domain``, ``chancery.errors``, the standard library
and pyca/cryptography only; nothing here imports ``pki``, ``keys`` or anything above.
"""
