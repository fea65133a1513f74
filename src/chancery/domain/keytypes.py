"""Key types a CA or server-side key generation can use."""

from __future__ import annotations

from enum import StrEnum

from chancery.errors import Malformed


class KeyAlgorithm(StrEnum):
    RSA = "rsa"
    EC = "ec"
    ED25519 = "ed25519"


class KeyType(StrEnum):
    """The names operators type (``--key-type ec-p256``)."""

    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    EC_P521 = "ec-p521"
    ED25519 = "ed25519"

    @classmethod
    def parse(cls, text: str) -> KeyType:
        """Raise :class:`Malformed` naming the valid choices when ``text`` is not one."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            choices = " ".join(k.value for k in cls)
            raise Malformed(f"unknown key type {text[:40]!r}; use one of: {choices}") from None

    @property
    def algorithm(self) -> KeyAlgorithm:
        if self.value.startswith("rsa-"):
            return KeyAlgorithm.RSA
        if self.value.startswith("ec-"):
            return KeyAlgorithm.EC
        return KeyAlgorithm.ED25519

    @property
    def rsa_bits(self) -> int:
        if self.algorithm is not KeyAlgorithm.RSA:
            raise ValueError(f"{self.value} is not an RSA key type")
        return int(self.value.split("-")[1])

    @property
    def curve_name(self) -> str:
        """The SEC 2 curve name (``secp256r1``) of an EC key type."""
        names = {KeyType.EC_P256: "secp256r1", KeyType.EC_P384: "secp384r1", KeyType.EC_P521: "secp521r1"}
        if self not in names:
            raise ValueError(f"{self.value} is not an EC key type")
        return names[self]
