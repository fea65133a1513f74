"""Protocols of the key store, shared by every backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from chancery.domain.keystores import KeyLocation
from chancery.domain.keytypes import KeyType

T_co = TypeVar("T_co", covariant=True)


class KeyPurpose(StrEnum):
    """Why a key exists: a CA's signing key, or an end entity's key generated for it."""

    CA = "ca"
    OCSP = "ocsp"  # a delegated OCSP responder's signing key: never exported
    AUDIT = "audit"  # signs audit checkpoints: never exported
    END_ENTITY = "end-entity"
    EMV = "emv"  # an EMV scheme CA or issuer key: raw RSA (message recovery), never exported
    SCEP_RA = "scep-ra"  # a SCEP RA's RSA key: signs CertReps and opens envelopes sent to it, never exported


class Signable(Protocol[T_co]):
    """A pyca/cryptography builder: certificate, CSR, CRL or OCSP response."""

    def sign(self, private_key: Any, algorithm: Any, *args: Any, **kwargs: Any) -> T_co: ...


class KeyHandle(Protocol):
    """A usable private key that stays inside its key store.

    ``sign_builder`` signs a pyca/cryptography builder with the key without
    handing the key out; a PKCS#11 backend does the same through the token.
    """

    @property
    def key_id(self) -> str: ...

    @property
    def key_type(self) -> KeyType: ...

    @property
    def signs_on_device(self) -> bool:
        """True when signing is a call to a device (a PKCS#11 token): callers on an event loop
        run it in a worker thread."""
        ...

    def public_key(self) -> PublicKeyTypes: ...

    def sign_builder(
        self,
        builder: Signable[T_co],
        algorithm: hashes.HashAlgorithm | None,
        rsa_padding: AsymmetricPadding | None = None,
    ) -> T_co:
        """Return ``builder.sign(<this key>, algorithm)``; an RSA key may be given PSS padding
        (RFC 4055 §3.1) instead of PKCS#1 v1.5."""
        ...

    def sign(self, data: bytes, algorithm: hashes.HashAlgorithm | None) -> bytes:
        """Sign ``data`` as X.509 signatures are made: ECDSA (DER), RSA PKCS#1 v1.5, or EdDSA (no hash)."""
        ...


class RawRsaKey(Protocol):
    """An RSA key used without padding (EMV Book 2 message recovery; PKCS#11 CKM_RSA_X_509).

    ``sign_raw`` is the bare private operation on a block exactly as long as the modulus,
    numerically below it: the caller builds the whole formatted block (header, hash, trailer).
    """

    @property
    def key_id(self) -> str: ...

    @property
    def modulus(self) -> int: ...

    @property
    def public_exponent(self) -> int: ...

    @property
    def modulus_length(self) -> int:
        """Bytes."""
        ...

    def sign_raw(self, block: bytes) -> bytes: ...


class KeyStore(Protocol):
    """Generates, finds and (for end-entity keys only) exports keys.

    Every method raises :class:`~chancery.errors.KeystoreUnavailable` when the
    store cannot be used and :class:`~chancery.errors.NotFound` for an unknown id.
    """

    def generate(self, key_type: KeyType, purpose: KeyPurpose) -> KeyHandle:
        """Create a new key and persist it (sealed, or inside the token)."""
        ...

    def generate_raw_rsa(self, bits: int, exponent: int) -> RawRsaKey:
        """A new EMV RSA key (purpose ``emv``), for the private operation without padding only."""
        ...

    def load_raw_rsa(self, key_id: str) -> RawRsaKey: ...

    def load(self, key_id: str) -> KeyHandle:
        """Return the handle of an existing key."""
        ...

    def export_pkcs12(self, key_id: str, request: Pkcs12Request) -> bytes:
        """Package an end-entity key with its certificate as password-protected PKCS#12.

        CA keys are never exportable: raises :class:`~chancery.errors.Forbidden`.
        """
        ...

    def destroy(self, key_id: str) -> None:
        """Delete a key for good."""
        ...

    def purpose(self, key_id: str) -> KeyPurpose:
        """Why the key exists (a checkpoint verifier accepts only an audit key)."""
        ...


class KeyRouting(KeyStore, Protocol):
    """A key store that spans the software store and a PKCS#11 token: the key id says where a
    key lives, and new CA keys go where the caller asks."""

    def generate_in(self, location: KeyLocation, key_type: KeyType, purpose: KeyPurpose) -> KeyHandle: ...

    def generate_raw_rsa_in(self, location: KeyLocation, bits: int, exponent: int) -> RawRsaKey: ...

    def adopt(self, label: str, purpose: KeyPurpose) -> KeyHandle:
        """Take into use a private key that already exists in the token (found by its label).

        Only a sensitive, non-extractable signing key is adopted.
        """
        ...


class SecretSealer(Protocol):
    """Seals small secrets (an LDAP bind password, a TOTP seed) under the key store's passphrase.

    The blob is bound to ``label``: it opens only under the same label.
    """

    def seal_secret(self, label: str, plaintext: bytes) -> str: ...

    def open_secret(self, label: str, blob: str) -> bytes: ...


@dataclass(frozen=True)
class Pkcs12Request:
    """What goes into a PKCS#12 beside the key (RFC 7292). The password is never shown."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    password: bytes = field(repr=False)
    friendly_name: str
