"""Configuration: ``CHANCERY_*`` environment variables over an optional TOML file.

Parsed once into a frozen, validated :class:`Settings`; invalid configuration
raises :class:`~chancery.errors.ConfigurationError` listing every problem, and
start-up stops. The TOML file is ``$CHANCERY_CONFIG`` or, when present,
``<data dir>/chancery.toml``; its keys are the field names below.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from chancery.errors import ConfigurationError

ENV_PREFIX = "CHANCERY_"


class Settings(BaseModel):
    """Everything configurable. See the README's configuration reference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(default=Path("chancery-data"), description="Where the SQLite database and files live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default: SQLite in the data directory.")
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public base URL put into CRL distribution point and AIA extensions.",
    )
    key_passphrase: SecretStr | None = Field(default=None, description="Passphrase of the sealed key store.")
    key_passphrase_file: Path | None = Field(default=None, description="File holding the key store passphrase.")
    kdf_scrypt_n: int = Field(default=2**17, description="scrypt cost (power of two >= 16384) for new key stores.")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    signer_cache_seconds: float = Field(default=2.0, ge=0, le=300, description="How long a CA's signer is cached.")
    profile_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description="How long a node keeps using a profile version before checking for a newer one.",
    )
    revocation_interval_seconds: float = Field(
        default=60.0, ge=1, le=3600, description="How often CRLs, OCSP responses and responders are refreshed."
    )
    pkcs11_sessions: int = Field(
        default=8, ge=1, le=64, description="How many PKCS#11 sessions sign at once (the token's session pool)."
    )
    token_cache_seconds: float = Field(
        default=5.0, ge=0, le=300, description="How long an authenticated API token is trusted without a database read."
    )
    acme_validation_host: str | None = Field(
        default=None, description="ACME validation connects to this address for every identifier (tests only)."
    )
    acme_http01_port: int = Field(default=80, ge=1, le=65535, description="Port ACME http-01 validation connects to.")
    acme_tlsalpn01_port: int = Field(
        default=443, ge=1, le=65535, description="Port ACME tls-alpn-01 validation connects to."
    )
    acme_dns_resolver: str | None = Field(
        default=None, description="host:port of the DNS resolver for dns-01 and CAA; default: the system's."
    )

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        return value

    @field_validator("kdf_scrypt_n")
    @classmethod
    def _kdf(cls, value: int) -> int:
        if value < 2**14 or value & (value - 1):
            raise ValueError("must be a power of two of at least 16384")
        return value

    @field_validator("acme_validation_host")
    @classmethod
    def _acme_validation_host(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError("must be an IP address") from None

    @field_validator("acme_dns_resolver")
    @classmethod
    def _acme_dns_resolver(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        host, port = value.strip(), "53"
        if host.startswith("["):
            host, _, rest = host[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ("53" if not rest else "x")
        elif host.count(":") == 1:
            host, _, port = host.partition(":")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise ValueError("must be host:port with an IP address ([v6]:port for IPv6)") from None
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("the port must be between 1 and 65535")
        return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return upper

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'chancery.db').resolve()}"

    def passphrase(self) -> bytes | None:
        """The key store passphrase from the setting or its file; ``None`` if neither is set."""
        if self.key_passphrase is not None:
            return self.key_passphrase.get_secret_value().encode()
        if self.key_passphrase_file is not None:
            try:
                return self.key_passphrase_file.read_text().rstrip("\r\n").encode()
            except OSError as exc:
                raise ConfigurationError(f"cannot read key_passphrase_file: {exc.strerror}") from None
        return None


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from TOML, then the environment, then ``overrides``."""
    env = os.environ if environ is None else environ
    fields = set(Settings.model_fields)
    from_env = {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in env.items()
        if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX) :].lower() in fields
    }
    data_dir = Path(overrides.get("data_dir") or from_env.get("data_dir") or "chancery-data")
    config_path = env.get("CHANCERY_CONFIG")
    values: dict[str, Any] = {}
    if config_path or (data_dir / "chancery.toml").exists():
        values.update(_read_toml(Path(config_path) if config_path else data_dir / "chancery.toml"))
    values.update(from_env)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigurationError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"configuration file {path} is not valid TOML: {exc}") from None
