"""The pure kernel: identifiers, serial numbers, revocation reasons, key types and
the immutable records that repositories return.

May import only the standard library, ``cryptography`` types and
``chancery.errors`` / ``chancery.clock``. No I/O, no SQL, no key material.
"""
