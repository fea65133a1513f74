"""The PKCS#11 key store of the stored configuration, connected on first use.

Commands that never touch an HSM key never load the module or ask for the PIN. A connection
that lost its token is dropped and made again on the next use; a new configuration takes
effect at once (:meth:`Pkcs11Backend.reconfigured`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from chancery.domain.keystores import Pkcs11Config, TokenInfo
from chancery.domain.keytypes import KeyType
from chancery.errors import Forbidden, KeystoreUnavailable
from chancery.keys.base import KeyHandle, KeyPurpose, Pkcs12Request, RawRsaKey
from chancery.keys.pkcs11.connection import DEFAULT_MAX_SESSIONS, connect, release
from chancery.keys.pkcs11.pins import PinPrompt, read_pin
from chancery.keys.pkcs11.registry import HsmKeyRegistry
from chancery.keys.pkcs11.store import Pkcs11KeyStore

NOT_CONFIGURED = "no PKCS#11 token is configured: run `chancery keys configure-pkcs11` first"


class Pkcs11Backend:
    """A :class:`~chancery.keys.base.KeyStore` over the configured token (see module doc)."""

    def __init__(
        self,
        config: Callable[[], Pkcs11Config | None],
        registry: HsmKeyRegistry,
        pin_prompt: PinPrompt | None = None,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
    ) -> None:
        self._config = config
        self._registry = registry
        self._prompt = pin_prompt
        self._max_sessions = max_sessions
        self._store: Pkcs11KeyStore | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "Pkcs11Backend()"

    def _current(self) -> Pkcs11KeyStore:
        with self._lock:
            if self._store is not None and self._store.connection.broken:
                release(self._store.connection)
                self._store = None
            if self._store is None:
                config = self._config()
                if config is None:
                    raise KeystoreUnavailable(NOT_CONFIGURED)
                self._store = self._open(config)
            return self._store

    def _open(self, config: Pkcs11Config) -> Pkcs11KeyStore:
        pin = read_pin(config.pin, self._prompt, config.describe_token())
        return Pkcs11KeyStore(connect(config, pin, self._max_sessions), self._registry)

    # -- administration --------------------------------------------------------------------

    def probe(self, config: Pkcs11Config) -> TokenInfo:
        """Log in to the token ``config`` names (proving module, token and PIN) and describe it."""
        store = self._open(config)
        try:
            return store.describe()
        finally:
            release(store.connection)

    def token_info(self) -> TokenInfo:
        return self._current().describe()

    def reconfigured(self) -> None:
        """Forget the connection: the next use reads the configuration again."""
        self.close()

    def close(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            release(store.connection)

    # -- KeyStore --------------------------------------------------------------------------

    def generate(self, key_type: KeyType, purpose: KeyPurpose) -> KeyHandle:
        return self._current().generate(key_type, purpose)

    def generate_raw_rsa(self, bits: int, exponent: int) -> RawRsaKey:
        return self._current().generate_raw_rsa(bits, exponent)

    def adopt(self, label: str, purpose: KeyPurpose) -> KeyHandle:
        return self._current().adopt(label, purpose)

    def load(self, key_id: str) -> KeyHandle:
        return self._current().load(key_id)

    def load_raw_rsa(self, key_id: str) -> RawRsaKey:
        return self._current().load_raw_rsa(key_id)

    def decrypt_key_transport(self, key_id: str, ciphertext: bytes) -> bytes:
        return self._current().decrypt_key_transport(key_id, ciphertext)

    def export_pkcs12(self, key_id: str, request: Pkcs12Request) -> bytes:
        raise Forbidden("keys in the HSM are never exported")

    def destroy(self, key_id: str) -> None:
        self._current().destroy(key_id)

    def purpose(self, key_id: str) -> KeyPurpose:
        return self._current().purpose(key_id)
