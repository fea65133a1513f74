"""The PKCS#11 key store: keys generated in the token, or adopted from it, never leaving it.

A key's id is ``pkcs11:<hex CKA_ID>``; each new key gets 16 random bytes as CKA_ID and a label
``chancery-<purpose>-<first 12 hex digits>``. The registry keeps the label, type, purpose and
public key of every key Chancery uses; opening a key checks that the token's key still matches.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pkcs11
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key
from pkcs11 import Attribute, Mechanism, ObjectClass
from pkcs11 import KeyType as P11KeyType

from chancery.domain.keystores import HsmKeyRecord, TokenInfo, cka_id_of, pkcs11_key_id
from chancery.domain.keytypes import KeyType
from chancery.errors import (
    Conflict,
    Forbidden,
    HsmKeyMissing,
    KeyLabelNotFound,
    KeystoreUnavailable,
    Malformed,
    NotFound,
    UnsupportedMechanism,
)
from chancery.keys import raw_rsa
from chancery.keys.base import KeyHandle, KeyPurpose, Pkcs12Request, RawRsaKey
from chancery.keys.pkcs11.connection import TokenConnection
from chancery.keys.pkcs11.handles import Pkcs11KeyHandle, Pkcs11RawRsaKey
from chancery.keys.pkcs11.mechanisms import (
    SIGN_AND_DECRYPT,
    SIGN_ONLY,
    KeySpec,
    check_supported,
    private_template,
    public_key_of,
    public_template,
    raw_rsa_spec,
    spec_for,
    supported_key_types,
)
from chancery.keys.pkcs11.registry import HsmKeyRegistry

# What an adopted key must (and must not) allow: a CA key signs, and stays in the token. An RSA key
# that may also decrypt or unwrap would let the token be used as a decryption oracle for the CA key.
_ADOPTABLE = {Attribute.SIGN: True, Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.DERIVE: False}
_NOT_FOR_RSA = (Attribute.DECRYPT, Attribute.UNWRAP)


class Pkcs11KeyStore:
    """Satisfies :class:`~chancery.keys.base.KeyStore` (and ``adopt``) over one logged-in token."""

    def __init__(self, connection: TokenConnection, registry: HsmKeyRegistry) -> None:
        self.connection = connection
        self._registry = registry
        self._handles: dict[str, Pkcs11KeyHandle] = {}
        self._raw: dict[str, Pkcs11RawRsaKey] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Pkcs11KeyStore({self.connection.name})"

    # -- making keys -----------------------------------------------------------------------

    def generate(self, key_type: KeyType, purpose: KeyPurpose) -> KeyHandle:
        if purpose is KeyPurpose.END_ENTITY:
            raise Malformed("end-entity keys are made in software: they are handed to their owner")
        public, record = self._create(spec_for(key_type), key_type.value, purpose)
        handle = Pkcs11KeyHandle(self.connection, record.key_id, cka_id_of(record.key_id), key_type, public)
        with self._lock:
            self._handles[record.key_id] = handle
        return handle

    def generate_raw_rsa(self, bits: int, exponent: int) -> RawRsaKey:
        raw_rsa.check_parameters(bits, exponent)
        public, record = self._create(raw_rsa_spec(bits, exponent), raw_rsa.RAW_RSA_KEY_TYPE, KeyPurpose.EMV)
        assert isinstance(public, rsa.RSAPublicKey)
        key = Pkcs11RawRsaKey(self.connection, record.key_id, cka_id_of(record.key_id), public)
        with self._lock:
            self._raw[record.key_id] = key
        return key

    def _create(self, spec: KeySpec, key_type: str, purpose: KeyPurpose) -> tuple[PublicKeyTypes, HsmKeyRecord]:
        check_supported(spec, self.connection.mechanisms(), self.connection.name)
        # A SCEP RA key also opens the envelopes clients encrypt to it (CKM_RSA_PKCS); every other
        # key in the token signs only.
        opens_envelopes = purpose is KeyPurpose.SCEP_RA
        if opens_envelopes and spec.p11_type is not P11KeyType.RSA:
            raise UnsupportedMechanism("a SCEP RA key is an RSA key (clients encrypt to it)")
        cka_id = os.urandom(16)
        label = f"chancery-{purpose.value}-{cka_id.hex()[:12]}"

        def work(session: Any) -> PublicKeyTypes:
            _, private = session.generate_keypair(
                spec.p11_type,
                spec.bits,
                id=cka_id,
                label=label,
                store=True,
                capabilities=SIGN_AND_DECRYPT if opens_envelopes else SIGN_ONLY,
                mechanism=spec.generate,
                public_template=public_template(spec, encrypts=opens_envelopes),
                private_template=private_template(decrypts=opens_envelopes),
            )
            return public_key_of(session, private)[1]

        public = self.connection.admin(f"generating an {spec.name} key", work)
        record = HsmKeyRecord(pkcs11_key_id(cka_id), label, key_type, purpose.value, _spki(public))
        try:
            self._registry.add(record)
        except BaseException:
            self._destroy_objects(cka_id)  # nothing half-made stays behind
            raise
        return public, record

    def adopt(self, label: str, purpose: KeyPurpose) -> KeyHandle:
        """Take into use the private key labelled ``label`` (sensitive, non-extractable, sign only)."""
        mechanisms = self.connection.mechanisms()

        def work(session: Any) -> tuple[bytes, KeyType, PublicKeyTypes]:
            private = _only_key_labelled(session, label, self.connection.name)
            _check_adoptable(private, label)
            key_type, public = public_key_of(session, private)
            if key_type is None:
                raise UnsupportedMechanism(f"key {label!r} is not of a type Chancery uses ({_types()})")
            check_supported(spec_for(key_type), mechanisms, self.connection.name)
            return bytes(private.id), key_type, public

        cka_id, key_type, public = self.connection.admin(f"looking for key {label!r}", work)
        key_id = pkcs11_key_id(cka_id)
        known = self._registry.get(key_id)
        if known is None:
            self._registry.add(HsmKeyRecord(key_id, label, key_type.value, purpose.value, _spki(public), adopted=True))
        elif known.public_key_der != _spki(public) or known.purpose != purpose.value:
            raise Conflict(f"key {label!r} has the CKA_ID of another key Chancery uses ({known.label!r})")
        return self.load(key_id)

    # -- using keys ------------------------------------------------------------------------

    def load(self, key_id: str) -> KeyHandle:
        with self._lock:
            cached = self._handles.get(key_id)
        if cached is not None:
            return cached
        record = self._record(key_id)
        if record.key_type == raw_rsa.RAW_RSA_KEY_TYPE:
            raise KeystoreUnavailable(f"key {key_id} is an EMV key: it makes EMV certificates only")
        public = self._check_in_token(record)
        handle = Pkcs11KeyHandle(self.connection, key_id, cka_id_of(key_id), KeyType(record.key_type), public)
        with self._lock:
            self._handles[key_id] = handle
        return handle

    def load_raw_rsa(self, key_id: str) -> RawRsaKey:
        with self._lock:
            cached = self._raw.get(key_id)
        if cached is not None:
            return cached
        record = self._registry.get(key_id)
        if record is None or record.key_type != raw_rsa.RAW_RSA_KEY_TYPE:
            raise NotFound(f"no EMV key {key_id} in the token")
        public = self._check_in_token(record)
        assert isinstance(public, rsa.RSAPublicKey)
        key = Pkcs11RawRsaKey(self.connection, key_id, cka_id_of(key_id), public)
        with self._lock:
            self._raw[key_id] = key
        return key

    def _record(self, key_id: str) -> HsmKeyRecord:
        record = self._registry.get(key_id)
        if record is None:
            raise NotFound(f"no key {key_id} in the key store")
        return record

    def _check_in_token(self, record: HsmKeyRecord) -> PublicKeyTypes:
        """The recorded public key, once the token shows it holds the matching private key."""
        cka_id = cka_id_of(record.key_id)

        def work(session: Any) -> bytes | None:
            try:
                private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=cka_id)
            except pkcs11.NoSuchKey:
                raise HsmKeyMissing(
                    f"key {record.label!r} ({record.key_id}) is not in {self.connection.name}"
                ) from None
            try:
                return _spki(public_key_of(session, private)[1])
            except pkcs11.NoSuchKey:  # the public object was removed: the private key alone signs
                return None

        in_token = self.connection.admin(f"opening key {record.label!r}", work)
        if in_token is not None and in_token != record.public_key_der:
            raise HsmKeyMissing(f"the key {record.label!r} in {self.connection.name} is not the key Chancery recorded")
        return load_der_public_key(record.public_key_der)

    def decrypt_key_transport(self, key_id: str, ciphertext: bytes) -> bytes:
        """RSA PKCS#1 v1.5 key transport with a SCEP RA key in the token (CKM_RSA_PKCS).

        A token reports bad padding as an error; like the software store's implicit rejection, that
        becomes random bytes, so callers answer every wrong key alike (RFC 8017 §7.2.2 note)."""
        record = self._record(key_id)
        if record.purpose != KeyPurpose.SCEP_RA.value:
            raise Forbidden("only a SCEP RA key opens envelopes")
        handle = self.load(key_id)
        public = handle.public_key()
        if not isinstance(public, rsa.RSAPublicKey) or len(ciphertext) != (public.key_size + 7) // 8:
            raise Malformed("the encrypted key is not as long as the RSA modulus")
        cka_id = cka_id_of(key_id)
        with self.connection.signing_session(f"opening an envelope with {key_id}") as pooled:
            try:
                return bytes(pooled.private_key(cka_id).decrypt(ciphertext, mechanism=Mechanism.RSA_PKCS))
            except (pkcs11.EncryptedDataInvalid, pkcs11.EncryptedDataLenRange, pkcs11.GeneralError):
                # Bad padding: CKR_ENCRYPTED_DATA_INVALID per PKCS#11, CKR_GENERAL_ERROR from SoftHSM2.
                return os.urandom(32)

    def export_pkcs12(self, key_id: str, request: Pkcs12Request) -> bytes:
        raise Forbidden("keys in the HSM are never exported")

    def destroy(self, key_id: str) -> None:
        self._record(key_id)
        with self._lock:
            self._handles.pop(key_id, None)
            self._raw.pop(key_id, None)
        self._destroy_objects(cka_id_of(key_id))
        self._registry.remove(key_id)

    def _destroy_objects(self, cka_id: bytes) -> None:
        def work(session: Any) -> None:
            for obj in list(session.get_objects({Attribute.ID: cka_id})):
                obj.destroy()

        self.connection.admin("destroying a key", work)

    def purpose(self, key_id: str) -> KeyPurpose:
        return KeyPurpose(self._record(key_id).purpose)

    def describe(self) -> TokenInfo:
        token = self.connection.token
        return TokenInfo(
            label=token.label,
            serial=bytes(token.serial).decode("ascii", "replace").strip(),
            manufacturer=token.manufacturer_id,
            model=token.model,
            key_types=tuple(k.value for k in supported_key_types(self.connection.mechanisms())),
        )


def _spki(public: PublicKeyTypes) -> bytes:
    return public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _types() -> str:
    return ", ".join(k.value for k in KeyType)


def _only_key_labelled(session: Any, label: str, token: str) -> Any:
    found = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: label}))
    if not found:
        raise KeyLabelNotFound(f"no private key labelled {label!r} in {token}")
    if len(found) > 1:
        raise Conflict(f"{len(found)} private keys are labelled {label!r} in {token}: relabel all but one")
    if not bytes(found[0].id):
        raise Malformed(f"key {label!r} has no CKA_ID: give it one (pkcs11-tool --set-id) before adopting it")
    return found[0]


def _check_adoptable(private: Any, label: str) -> None:
    for attribute, wanted in _ADOPTABLE.items():
        if bool(private[attribute]) is not wanted:
            raise Forbidden(
                f"key {label!r} has CKA_{attribute.name}={'false' if wanted else 'true'}: Chancery adopts only "
                "sensitive, non-extractable signing keys"
            )
    if private.key_type != P11KeyType.RSA:
        return
    for attribute in _NOT_FOR_RSA:
        if bool(private[attribute]):
            raise Forbidden(f"RSA key {label!r} may also {attribute.name.lower()}: a CA key signs only")
