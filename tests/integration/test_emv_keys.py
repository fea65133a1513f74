"""EMV RSA keys in the sealed software key store: generated, sealed, reopened, never usable as X.509 keys."""

from __future__ import annotations

import pytest

from chancery import wiring
from chancery.domain.keytypes import KeyType
from chancery.errors import KeystoreUnavailable, NotFound
from chancery.keys.base import KeyPurpose
from tests.conftest import PASSPHRASE

pytestmark = pytest.mark.integration


def test_emv_keys_are_sealed_reopened_and_kept_apart(app: wiring.Application) -> None:
    key = app.keys.generate_raw_rsa(1152, 3)
    assert key.key_id.startswith("emv-") and key.public_exponent == 3 and key.modulus.bit_length() == 1152
    block = b"\x6a" + b"\x01" * 142 + b"\xbc"
    signed = key.sign_raw(block)

    again = wiring.build(app.settings, PASSPHRASE)  # another process: opens the sealed blob
    try:
        assert again.keys.load_raw_rsa(key.key_id).sign_raw(block) == signed
        with pytest.raises(KeystoreUnavailable, match="EMV key"):
            again.keys.load(key.key_id)  # never an X.509 signer
        x509_key = again.keys.generate(KeyType.EC_P256, KeyPurpose.CA)
        with pytest.raises(NotFound):
            again.keys.load_raw_rsa(x509_key.key_id)
    finally:
        again.close()


def test_no_private_factor_is_stored_in_the_clear(app: wiring.Application) -> None:
    key = app.keys.generate_raw_rsa(1024, 65537)
    p = key._p  # type: ignore[attr-defined]  # noqa: SLF001 - the secret looked for in the database
    factor = p.to_bytes((p.bit_length() + 7) // 8, "big")
    with app.database.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT blob FROM sealed_keys").fetchall()
    assert rows and all(factor not in str(row[0]).encode() and factor.hex() not in str(row[0]) for row in rows)
