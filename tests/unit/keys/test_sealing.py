import json

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from chancery.domain.keytypes import KeyType
from chancery.domain.serials import SerialNumber
from chancery.errors import Forbidden, KeystoreUnavailable, NotFound, WrongPassphrase
from chancery.keys.base import KeyPurpose, Pkcs12Request
from chancery.keys.sealing import KdfParameters, Sealer
from chancery.keys.software import SoftwareKeyStore
from chancery.keys.vault import SealedKey
from chancery.pki.issuer import CertificateRequest, prepare
from tests.unit.pki.test_issuer import NOW, leaf_request, self_signed_root

N = 2**14


class MemoryVault:
    """An in-memory stand-in for the database vault (the integration tests use the real one)."""

    def __init__(self) -> None:
        self.keys: dict[str, SealedKey] = {}
        self.check: str | None = None

    def put_key(self, key: SealedKey) -> None:
        self.keys[key.key_id] = key

    def get_key(self, key_id: str) -> SealedKey | None:
        return self.keys.get(key_id)

    def delete_key(self, key_id: str) -> None:
        self.keys.pop(key_id, None)

    def get_check(self) -> str | None:
        return self.check

    def put_check(self, check: str) -> None:
        self.check = check


def store(vault: MemoryVault, passphrase: bytes = b"right passphrase") -> SoftwareKeyStore:
    return SoftwareKeyStore(vault, Sealer(passphrase), N)


def test_seal_and_open_round_trip() -> None:
    sealer = Sealer(b"pw")
    params = KdfParameters.fresh(N)
    blob = sealer.seal(b"secret key bytes", "k1", "ec-p256", params)
    assert b"secret key bytes" not in blob.encode()
    assert json.loads(blob)["kdf"] == params.to_json()  # parameters travel with the blob
    assert sealer.open(blob, "k1") == ("ec-p256", b"secret key bytes")


def test_wrong_passphrase_is_a_clear_error() -> None:
    blob = Sealer(b"pw").seal(b"x", "k1", "ec-p256", KdfParameters.fresh(N))
    with pytest.raises(WrongPassphrase, match="wrong key store passphrase"):
        Sealer(b"other").open(blob, "k1")


@pytest.mark.parametrize("tamper", ["ciphertext", "nonce", "key_type", "key_id", "format", "json"])
def test_tampered_or_moved_blobs_do_not_open(tamper: str) -> None:
    sealer = Sealer(b"pw")
    blob = sealer.seal(b"payload", "k1", "ec-p256", KdfParameters.fresh(N))
    doc = json.loads(blob)
    if tamper == "ciphertext":
        doc["ciphertext"] = doc["ciphertext"][:-4] + ("AAAA" if not doc["ciphertext"].endswith("AAAA") else "BBBB")
    elif tamper == "nonce":
        doc["nonce"] = "AAAAAAAAAAAAAAAA"
    elif tamper == "key_type":
        doc["key_type"] = "rsa-2048"
    elif tamper == "key_id":
        doc["key_id"] = "k2"
    elif tamper == "format":
        doc["format"] = "something-else"
    text = "{not json" if tamper == "json" else json.dumps(doc)
    with pytest.raises(KeystoreUnavailable):
        sealer.open(text, "k1")


@pytest.mark.parametrize("n", [2**10, 3 * 2**14])
def test_weak_or_invalid_kdf_parameters_are_refused(n: int) -> None:
    with pytest.raises(ValueError):
        KdfParameters(salt=b"s" * 16, n=n)


def test_store_generates_unlocks_and_refuses_wrong_passphrase() -> None:
    vault = MemoryVault()
    keys = store(vault)
    keys.initialise()
    handle = keys.generate(KeyType.EC_P256, KeyPurpose.CA)
    reopened = store(vault).load(handle.key_id)
    assert reopened.public_key() == handle.public_key()
    with pytest.raises(WrongPassphrase):
        store(vault, b"wrong").load(handle.key_id)
    with pytest.raises(WrongPassphrase):
        store(vault, b"wrong").unlock()


def test_uninitialised_store_and_unknown_keys() -> None:
    vault = MemoryVault()
    with pytest.raises(KeystoreUnavailable, match="not initialised"):
        store(vault).generate(KeyType.EC_P256, KeyPurpose.CA)
    keys = store(vault)
    keys.initialise()
    with pytest.raises(NotFound):
        keys.load("missing")


def test_ca_keys_are_never_exported_but_end_entity_keys_are() -> None:
    vault = MemoryVault()
    keys = store(vault)
    keys.initialise()
    root = self_signed_root()
    ca_key = keys.generate(KeyType.EC_P256, KeyPurpose.CA)
    ee_key = keys.generate(KeyType.EC_P256, KeyPurpose.END_ENTITY)
    template = leaf_request()
    cert = prepare(
        CertificateRequest(template.subject, ee_key.public_key(), template.profile, template.sans),
        root,
        SerialNumber(3),
        NOW,
    ).sign()
    request = Pkcs12Request(certificate=cert, chain=(root.certificate,), password=b"p12 password", friendly_name="leaf")  # type: ignore[arg-type]
    blob = keys.export_pkcs12(ee_key.key_id, request)
    loaded = pkcs12.load_pkcs12(blob, b"p12 password")
    assert loaded.cert is not None and loaded.cert.certificate == cert
    assert loaded.key is not None and loaded.key.public_key() == ee_key.public_key()
    assert [c.certificate for c in loaded.additional_certs] == [root.certificate]
    assert "p12 password" not in repr(request)
    with pytest.raises(Forbidden):
        keys.export_pkcs12(ca_key.key_id, request)
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(blob, b"wrong")
