"""The composition root: the one module that builds concrete stores, key stores and services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chancery.clock import Clock, SystemClock
from chancery.domain.principals import Principal, Role
from chancery.errors import ConfigurationError, KeystoreUnavailable
from chancery.keys.sealing import Sealer
from chancery.keys.software import SoftwareKeyStore
from chancery.services.authority.cycle import IssuanceCycle
from chancery.services.authority.hierarchy import HierarchyService
from chancery.services.authority.issuance import IssuanceService
from chancery.services.authority.signers import SignerDirectory
from chancery.services.certificates import CertificateService
from chancery.services.health import HealthService
from chancery.services.profiles.catalog import ProfileCatalog
from chancery.services.profiles.lint_gate import LintGate
from chancery.services.profiles.preview import ProfilePreviews
from chancery.services.profiles.service import ProfileService
from chancery.services.revocation.bulk import BulkRevocation
from chancery.services.revocation.crls import CrlPublisher
from chancery.services.revocation.maintenance import MaintenanceLoop, RevocationMaintenance
from chancery.services.revocation.ocsp import OcspService
from chancery.services.revocation.responders import ResponderDirectory
from chancery.services.revocation.settings import RevocationSettingsService
from chancery.services.tokens import NewToken, TokenService
from chancery.settings import Settings
from chancery.store import migrate
from chancery.store.database import Database
from chancery.store.group_commit import GroupCommitWriter
from chancery.store.locks import DatabaseLock
from chancery.store.sealed_keys import SqlSealedKeyVault

if TYPE_CHECKING:
    from chancery.web.app import ChanceryApp

PassphraseSource = bytes | Callable[[], bytes]


@dataclass
class Application:
    """Everything a running Chancery (server or CLI command) uses."""

    settings: Settings
    clock: Clock
    database: Database
    writer: GroupCommitWriter
    keys: SoftwareKeyStore
    hierarchy: HierarchyService
    issuance: IssuanceService
    certificates: CertificateService
    tokens: TokenService
    profiles: ProfileService
    previews: ProfilePreviews
    health: HealthService
    revocation_settings: RevocationSettingsService
    crls: CrlPublisher
    ocsp: OcspService
    responders: ResponderDirectory
    bulk_revocation: BulkRevocation
    maintenance: RevocationMaintenance

    def close(self) -> None:
        self.writer.close()
        self.database.dispose()


def build(settings: Settings, passphrase: PassphraseSource | None = None, clock: Clock | None = None) -> Application:
    """Wire an application for ``settings``. The passphrase is asked for only when a key is used."""
    clock = clock or SystemClock()
    database = Database(settings.effective_database_url)
    writer = GroupCommitWriter(database)
    source: PassphraseSource = passphrase if passphrase is not None else _from_settings(settings)
    keys = SoftwareKeyStore(SqlSealedKeyVault(database, clock), Sealer(source), settings.kdf_scrypt_n)
    signers = SignerDirectory(database, keys, ttl_seconds=settings.signer_cache_seconds)
    catalog = ProfileCatalog(database, ttl_seconds=settings.profile_cache_seconds)
    cycle = IssuanceCycle(writer, signers, clock, LintGate())
    lock = DatabaseLock(database)
    revocation_settings = RevocationSettingsService(database, writer, signers)
    crls = CrlPublisher(database, writer, signers, revocation_settings, lock, clock)
    responders = ResponderDirectory(database, writer, signers, keys, cycle, catalog, revocation_settings, lock, clock)
    ocsp = OcspService(database, writer, signers, responders, revocation_settings, clock)
    certificates = CertificateService(database, writer, keys, clock, listeners=[ocsp])
    return Application(
        settings=settings,
        clock=clock,
        database=database,
        writer=writer,
        keys=keys,
        hierarchy=HierarchyService(database, writer, cycle, signers, catalog, keys, clock, settings.base_url),
        issuance=IssuanceService(database, cycle, keys, catalog),
        certificates=certificates,
        tokens=TokenService(database, writer, clock, settings.token_cache_seconds),
        profiles=ProfileService(database, writer, catalog, clock),
        previews=ProfilePreviews(catalog, signers, clock),
        health=HealthService(database),
        revocation_settings=revocation_settings,
        crls=crls,
        ocsp=ocsp,
        responders=responders,
        bulk_revocation=BulkRevocation(database, writer, clock, listeners=[ocsp]),
        maintenance=RevocationMaintenance(database, crls, responders, ocsp, lock, clock),
    )


def initialise(app: Application, operator: Principal) -> NewToken | None:
    """Create or upgrade the schema and the key store; install the shipped profiles that are
    missing; mint the first admin token.

    Returns the new token when none existed (it is shown once), else ``None``.
    """
    data_dir = app.settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)  # sealed keys and tokens' hashes live here: the operator's eyes only
    migrate.upgrade(app.database)
    for database_file in data_dir.glob("chancery.db*"):
        database_file.chmod(0o600)
    app.keys.initialise()
    app.profiles.install_builtins(operator)
    if app.tokens.has_tokens():
        return None
    return app.tokens.create(operator, "admin", frozenset({Role.ADMINISTRATOR}))


def create_web_app(settings: Settings, passphrase: PassphraseSource | None = None) -> ChanceryApp:
    """The HTTP application for ``settings`` (what ``chancery serve`` runs), with the revocation
    maintenance loop running while it serves."""
    from chancery.web.app import create_app  # FastAPI loads only when serving, so CLI commands start fast

    app = build(settings, passphrase)
    if not is_initialised(app):
        raise ConfigurationError(f"no initialised Chancery in {settings.data_dir}; run `chancery init` first")
    app.keys.unlock()  # fail at start-up on a wrong passphrase, not at the first request
    loop = MaintenanceLoop(app.maintenance, settings.revocation_interval_seconds)

    def shutdown() -> None:
        loop.stop()
        app.close()

    return create_app(app, max_body_bytes=settings.max_body_bytes, on_startup=loop.start, on_shutdown=shutdown)


def is_initialised(app: Application) -> bool:
    return migrate.is_current(app.database) and app.keys.is_initialised()


def _from_settings(settings: Settings) -> Callable[[], bytes]:
    def read() -> bytes:
        value = settings.passphrase()
        if value is None:
            raise KeystoreUnavailable("no key store passphrase: set CHANCERY_KEY_PASSPHRASE")
        return value

    return read
