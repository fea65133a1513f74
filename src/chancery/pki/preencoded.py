"""Extensions whose value is DER-encoded once and reused.

Extensions that are the same in many certificates (basic constraints, key
usages, the issuer's AKI, CRL distribution point and AIA, a profile's fixed
extensions) are kept as :class:`~cryptography.x509.UnrecognizedExtension`
holding their DER: the certificate builder then copies bytes instead of
encoding the value again for every certificate. The certificate's bytes are the
same either way.
"""

from __future__ import annotations

from cryptography import x509


def encoded(extension: x509.Extension[x509.ExtensionType]) -> x509.Extension[x509.ExtensionType]:
    """``extension`` with its value as DER."""
    value = extension.value
    if isinstance(value, x509.UnrecognizedExtension):
        return extension
    der = x509.UnrecognizedExtension(extension.oid, value.public_bytes())
    return x509.Extension(extension.oid, extension.critical, der)
