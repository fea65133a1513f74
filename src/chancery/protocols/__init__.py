"""Wire adapters: decode -> service -> encode. Thin by rule.

Each protocol package translates :class:`~chancery.errors.CAError` kinds into its
own error form through one exhaustive table. No protocol package imports
another; shared wire helpers live in ``protocols._common``. Protocols import
``services``, ``domain``, ``errors`` (and ``pki`` encodings), never ``store``
or ``keys``.
"""
