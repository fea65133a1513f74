"""X.509 mechanics over pyca/cryptography: names, key policy, CSRs, profiles,
extensions, the issuer (prepare -> sign once) and encodings.

Pure given a :class:`~chancery.keys.base.KeyHandle`: no I/O, no database, no
clock (times are passed in). May import the kernel and ``keys.base`` only.
"""
