"""The composition root: the one module that builds concrete stores, key stores and services."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization

from chancery.clock import Clock, SystemClock
from chancery.domain.backups import ExpectedHsmKey
from chancery.domain.custodians import passphrase_variable
from chancery.domain.identity import LdapSettings
from chancery.domain.keystores import Pkcs11Config
from chancery.domain.principals import Principal, Role
from chancery.errors import CAError, ConfigurationError, KeystoreUnavailable
from chancery.keys.backup_key import BackupKeyring, open_backup_key
from chancery.keys.pkcs11.backend import Pkcs11Backend
from chancery.keys.pkcs11.pins import PinPrompt
from chancery.keys.quorum import CustodianSource, QuorumSecret, SoftwareQuorum
from chancery.keys.routing import KeyRouter
from chancery.keys.sealing import Sealer
from chancery.keys.software import SoftwareKeyStore
from chancery.services.acme.service import AcmeDependencies, AcmeService
from chancery.services.approvals import DualControl
from chancery.services.audit.checkpoints import AuditCheckpointer
from chancery.services.audit.service import AuditService
from chancery.services.audit.verification import AuditVerifier
from chancery.services.authority.cycle import IssuanceCycle
from chancery.services.authority.hierarchy import HierarchyService, new_ca_from
from chancery.services.authority.issuance import IssuanceService
from chancery.services.authority.signers import SignerDirectory
from chancery.services.backup.creation import BackupCreator, BackupSource
from chancery.services.backup.permits import RESTORE_OVER
from chancery.services.backup.ports import BackupKeyOpener, HsmKeyStatus
from chancery.services.backup.restoration import BackupRestorer, RestoreEnvironment
from chancery.services.ceremony.custodians import CustodianService
from chancery.services.ceremony.quorum import KeyQuorumService
from chancery.services.ceremony.runner import CeremonyService
from chancery.services.ceremony.steps import CaServices
from chancery.services.certificates import CertificateService, RevokeRequest
from chancery.services.emv.requests import EmvRequests
from chancery.services.emv.service import EmvService, NewEmvCa, NewIssuer
from chancery.services.health import HealthService
from chancery.services.identity.accounts import AccountService, NewGrant
from chancery.services.identity.authentication import Authenticator
from chancery.services.identity.directory import Directory, DirectoryUser
from chancery.services.identity.directory_settings import DirectorySettingsService
from chancery.services.identity.passwords import Passwords
from chancery.services.identity.sessions import SessionService
from chancery.services.keystores import KeyStoreService, config_from
from chancery.services.notifications.service import Notifications, build_notifications
from chancery.services.policies import PolicyService
from chancery.services.profiles.catalog import ProfileCatalog
from chancery.services.profiles.lint_gate import LintGate
from chancery.services.profiles.preview import ProfilePreviews
from chancery.services.profiles.service import ProfileService
from chancery.services.registration.authorities import NewRa, RaDirectory, policy_from_payload
from chancery.services.registration.decisions import RequestDecisions
from chancery.services.registration.delivery import RequestDelivery
from chancery.services.registration.fulfilment import Fulfilment
from chancery.services.registration.intake import RequestIntake
from chancery.services.revocation.bulk import BulkRevocation
from chancery.services.revocation.crls import CrlPublisher
from chancery.services.revocation.maintenance import MaintenanceLoop, RevocationMaintenance
from chancery.services.revocation.ocsp import OcspService
from chancery.services.revocation.responders import ResponderDirectory
from chancery.services.revocation.settings import RevocationSettingsService
from chancery.services.scep.challenges import ScepChallenges
from chancery.services.scep.directory import ScepDirectory
from chancery.services.scep.enrollment import ScepEnrollment
from chancery.services.scep.lookups import ScepLookups
from chancery.services.scep.publication import ScepPublication
from chancery.services.tokens import NewToken, TokenService
from chancery.services.validation import ChallengeValidator, validation_settings
from chancery.settings import Settings, load_settings
from chancery.store import migrate
from chancery.store.database import Database
from chancery.store.group_commit import GroupCommitWriter
from chancery.store.key_stores import SqlHsmKeyRegistry
from chancery.store.locks import DatabaseLock
from chancery.store.quorum import SqlQuorumVault
from chancery.store.restoration import SqlRestoreTargets
from chancery.store.sealed_keys import SqlSealedKeyVault
from chancery.store.snapshots import SqlDatabaseSnapshots

if TYPE_CHECKING:
    from chancery.web.app import ChanceryApp

PassphraseSource = bytes | Callable[[], bytes]
INITIAL_ADMINISTRATOR = "admin"


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
    accounts: AccountService
    authenticator: Authenticator
    sessions: SessionService
    directory: DirectorySettingsService
    policies: PolicyService
    dual_control: DualControl
    audit: AuditService
    audit_checkpoints: AuditCheckpointer
    emv: EmvService
    emv_requests: EmvRequests
    ras: RaDirectory
    ra_intake: RequestIntake
    ra_decisions: RequestDecisions
    ra_delivery: RequestDelivery
    health: HealthService
    revocation_settings: RevocationSettingsService
    crls: CrlPublisher
    ocsp: OcspService
    responders: ResponderDirectory
    bulk_revocation: BulkRevocation
    maintenance: RevocationMaintenance
    notifications: Notifications
    backups: BackupCreator
    custodians: CustodianService
    key_quorum: KeyQuorumService
    ceremonies: CeremonyService
    acme: AcmeService
    scep: ScepDirectory
    scep_challenges: ScepChallenges
    scep_enrollment: ScepEnrollment
    scep_publication: ScepPublication

    key_router: KeyRouter  # the software store and the PKCS#11 token, by key id
    key_stores: KeyStoreService

    def close(self) -> None:
        self.acme.close()
        self.writer.close()
        self.key_router.close()  # logs out of the token
        self.database.dispose()


def build(
    settings: Settings,
    passphrase: PassphraseSource | None = None,
    clock: Clock | None = None,
    custodians: CustodianSource | None = None,
    pin_prompt: PinPrompt | None = None,
) -> Application:
    """Wire an application for ``settings``. The passphrase (or, when the key store requires a
    quorum, the custodians' passphrases) is asked for only when a key is used."""
    clock = clock or SystemClock()
    database = Database(settings.effective_database_url)
    writer = GroupCommitWriter(database)
    source: PassphraseSource = passphrase if passphrase is not None else _from_settings(settings)
    quorum_vault = SqlQuorumVault(database, clock)
    secret = QuorumSecret(quorum_vault, custodians or custodians_from_environment, source)
    keys = SoftwareKeyStore(SqlSealedKeyVault(database, clock), Sealer(secret), settings.kdf_scrypt_n)
    hsm = Pkcs11Backend(
        _pkcs11_config(database), SqlHsmKeyRegistry(database, clock), pin_prompt, settings.pkcs11_sessions
    )
    routed = KeyRouter(keys, hsm)  # CA and EMV keys may be in the token; the rest stays in software
    signers = SignerDirectory(database, routed, ttl_seconds=settings.signer_cache_seconds)
    catalog = ProfileCatalog(database, ttl_seconds=settings.profile_cache_seconds)
    cycle = IssuanceCycle(writer, signers, clock, LintGate())
    lock = DatabaseLock(database)
    dual = DualControl(database, writer, clock)
    passwords = Passwords()
    revocation_settings = RevocationSettingsService(database, writer, signers, clock)
    crls = CrlPublisher(database, writer, signers, revocation_settings, lock, clock)
    responders = ResponderDirectory(database, writer, signers, routed, cycle, catalog, revocation_settings, lock, clock)
    ocsp = OcspService(database, writer, signers, responders, revocation_settings, clock)
    certificates = CertificateService(database, writer, routed, clock, dual, listeners=[ocsp])
    checkpoints = AuditCheckpointer(database, writer, keys, clock)
    directory = _LazyLdapDirectory()
    tokens = TokenService(database, writer, clock, settings.token_cache_seconds)
    authenticator = Authenticator(database, writer, clock, passwords, keys, directory, settings.token_cache_seconds)

    issuance = IssuanceService(database, cycle, keys, catalog)
    emv = EmvService(database, writer, routed, clock, dual)
    previews = ProfilePreviews(catalog, signers, clock)
    notifications = build_notifications(database, writer, clock, keys, settings.base_url)
    fulfilment = Fulfilment(writer, issuance, certificates, clock, notifications.outbox)

    ras = RaDirectory(database, writer, clock, dual)
    ra_intake = RequestIntake(database, writer, clock, previews, fulfilment, notifications.outbox)
    ra_delivery = RequestDelivery(database, writer, keys, clock)
    scep = ScepDirectory(database, writer, clock, routed, cycle, catalog, settings.signer_cache_seconds)
    scep_enrollment = ScepEnrollment(
        database, writer, clock, scep, ra_intake, ra_delivery, routed, ScepLookups(database, clock, crls, certificates)
    )

    hierarchy = HierarchyService(database, writer, cycle, signers, catalog, routed, clock, settings.base_url, dual)
    custodian_service = CustodianService(database, writer, clock, passwords)
    ca_services = CaServices(hierarchy, issuance, crls, revocation_settings)

    def identities_changed() -> None:
        tokens.forget_cached()
        authenticator.forget_cached()

    acme = _acme(settings, database, writer, clock, keys, ra_intake, ra_delivery, certificates, catalog)

    app = Application(
        settings=settings,
        clock=clock,
        database=database,
        writer=writer,
        keys=keys,
        hierarchy=hierarchy,
        issuance=issuance,
        certificates=certificates,
        tokens=tokens,
        profiles=ProfileService(database, writer, catalog, clock, dual),
        previews=previews,
        accounts=AccountService(database, writer, clock, passwords, keys, dual, identities_changed),
        authenticator=authenticator,
        sessions=SessionService(database, writer, clock),
        directory=DirectorySettingsService(database, writer, clock, keys, directory, dual),
        policies=PolicyService(database, writer, clock, dual),
        dual_control=dual,
        audit=AuditService(database, writer, clock, AuditVerifier(database, keys), checkpoints),
        audit_checkpoints=checkpoints,
        emv=emv,
        emv_requests=EmvRequests(writer, routed, clock, emv),
        ras=ras,
        ra_intake=ra_intake,
        ra_decisions=RequestDecisions(database, writer, clock, previews, fulfilment, notifications.outbox),
        ra_delivery=ra_delivery,
        health=HealthService(database),
        revocation_settings=revocation_settings,
        crls=crls,
        ocsp=ocsp,
        responders=responders,
        bulk_revocation=BulkRevocation(database, writer, clock, listeners=[ocsp]),
        maintenance=RevocationMaintenance(database, crls, responders, ocsp, lock, clock),
        notifications=notifications,
        backups=_backups(settings, database, writer, keys, quorum_vault, clock),
        custodians=custodian_service,
        key_quorum=KeyQuorumService(
            database,
            writer,
            custodian_service,
            SoftwareQuorum(keys, quorum_vault, settings.kdf_scrypt_n),
            clock,
            lambda: secret.unlocked_by,
        ),
        acme=acme,
        ceremonies=CeremonyService(database, writer, clock, custodian_service, ca_services, keys, dual),
        scep=scep,
        scep_challenges=ScepChallenges(database, writer, clock),
        scep_enrollment=scep_enrollment,
        scep_publication=ScepPublication(scep, certificates, routed),
        key_router=routed,
        key_stores=KeyStoreService(database, writer, clock, hsm, dual),
    )
    _register_sensitive_operations(app)
    return app


def _acme(
    settings: Settings,
    database: Database,
    writer: GroupCommitWriter,
    clock: Clock,
    keys: SoftwareKeyStore,
    intake: RequestIntake,
    delivery: RequestDelivery,
    certificates: CertificateService,
    catalog: ProfileCatalog,
) -> AcmeService:
    validation = validation_settings(
        settings.acme_validation_host,
        settings.acme_http01_port,
        settings.acme_tlsalpn01_port,
        settings.acme_dns_resolver,
    )
    deps = AcmeDependencies(
        database, writer, clock, keys, ChallengeValidator(validation), intake, delivery, certificates, catalog
    )
    return AcmeService(deps)


class _LazyLdapDirectory:
    """The LDAP adapter, imported on first use: ldap3 takes a tenth of a second to import,
    which every CLI command would otherwise pay."""

    def authenticate(
        self, settings: LdapSettings, bind_password: str, username: str, password: str
    ) -> DirectoryUser | None:
        return _ldap().authenticate(settings, bind_password, username, password)

    def lookup(self, settings: LdapSettings, bind_password: str, username: str) -> DirectoryUser | None:
        return _ldap().lookup(settings, bind_password, username)


@cache
def _ldap() -> Directory:
    from chancery.services.identity.ldap import LdapDirectory

    return LdapDirectory()


def _register_sensitive_operations(app: Application) -> None:
    """How each kind of dual-controlled operation runs once approved (DESIGN.md invariant 4)."""
    register = app.dual_control.register
    register("ca.create-root", lambda p, d: app.hierarchy.create_root(p, new_ca_from(d)))
    register("ca.create-intermediate", lambda p, d: app.hierarchy.create_intermediate(p, new_ca_from(d)))
    register("ca.create-pending", lambda p, d: app.hierarchy.create_pending(p, new_ca_from(d)))
    register(
        "ca.import-certificate",
        lambda p, d: app.hierarchy.import_certificate(p, str(d["name"]), str(d["certificate"]).encode("ascii")),
    )
    register(
        "ca.import-trust-anchor", lambda p, d: app.hierarchy.import_trust_anchor(p, str(d["certificate"]).encode())
    )
    register("emv.create-ca", lambda p, d: app.emv.create_ca(p, NewEmvCa(**d)))
    register("emv.create-issuer", lambda p, d: app.emv.create_issuer(p, NewIssuer(**d)))
    register("ca.retire", lambda p, d: app.hierarchy.retire(p, str(d["name"]), str(d["reason"])))
    register("profile.save", lambda p, d: app.profiles.save(p, d["document"], str(d["comment"]), create=d["create"]))
    register("role.grant", lambda p, d: app.accounts.grant(p, NewGrant(**{**d, "role": Role(str(d["role"]))})))
    register("role.revoke", lambda p, d: app.accounts.revoke_grant(p, int(d["grant_id"])))
    register("ldap.configure", app.directory.apply_approved)
    register("policy.set", lambda p, d: app.policies.set(p, str(d["name"]), int(d["value"])))
    register("ra.create", lambda p, d: app.ras.create(p, _new_ra(d)))
    register(
        "ra.set-policy",
        lambda p, d: app.ras.set_policy(
            p, str(d["name"]), str(d["profile"]), policy_from_payload(d["policy"]) if d["policy"] else None
        ),
    )
    register("certificate.revoke-ca", lambda p, d: app.certificates.revoke(p, RevokeRequest.from_payload(d)))
    register("keys.configure-pkcs11", lambda p, d: app.key_stores.configure_pkcs11(p, config_from(d)))
    register(RESTORE_OVER, lambda p, d: None)  # a permit: the restore itself runs at the custodians' keyboard


def _new_ra(payload: dict[str, Any]) -> NewRa:
    return NewRa(
        name=str(payload["name"]),
        ca=str(payload["ca"]),
        profiles=tuple(payload["profiles"]),
        policy=policy_from_payload(payload["policy"]),
        revocation_approvals=int(payload["revocation_approvals"]),
        description=str(payload["description"]),
        notify_emails=tuple(payload["notify_emails"]),
    )


def initialise(app: Application, operator: Principal) -> NewToken | None:
    """Create or upgrade the schema and the key store; make the audit key; install the shipped
    profiles that are missing; the first time, create the local user ``admin`` (administrator)
    and a token for it.

    Returns the new token when none existed (it is shown once), else ``None``.
    """
    data_dir = app.settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)  # sealed keys and tokens' hashes live here: the operator's eyes only
    migrate.upgrade(app.database)
    for database_file in data_dir.glob("chancery.db*"):
        database_file.chmod(0o600)
    app.keys.initialise()
    app.audit_checkpoints.ensure_key()
    app.profiles.install_builtins(operator)
    if app.tokens.has_tokens():
        return None
    app.accounts.bootstrap_administrator(operator, INITIAL_ADMINISTRATOR)
    return app.tokens.create_for_user(operator, INITIAL_ADMINISTRATOR, "admin")


def create_web_app(
    settings: Settings, passphrase: PassphraseSource | None = None, custodians: CustodianSource | None = None
) -> ChanceryApp:
    """The HTTP application for ``settings`` (what ``chancery serve`` runs), with the revocation
    maintenance loop running while it serves."""
    from chancery.web.app import create_app  # FastAPI loads only when serving, so CLI commands start fast

    app = build(settings, passphrase, custodians=custodians)
    if not is_initialised(app):
        raise ConfigurationError(f"no initialised Chancery in {settings.data_dir}; run `chancery init` first")
    app.keys.unlock()  # fail at start-up on a wrong passphrase (or no quorum), not at the first request
    app.key_quorum.record_unlock("chancery")
    app.key_stores.check_in_use()  # and on a wrong PIN or a missing token
    tasks = [
        ("revocation maintenance", app.maintenance.run_once),
        ("audit checkpoint", app.audit_checkpoints.checkpoint),
        ("expiry of pending RA requests", app.ra_decisions.expire_due),
        ("interrupted RA requests", app.ra_decisions.resume_interrupted),
        ("destruction of uncollected generated keys", app.ra_delivery.destroy_uncollected),
        ("notification deliveries", app.notifications.dispatcher.deliver_due),
        ("expiry of ACME nonces, authorizations and orders", app.acme.expire_due),
        ("sweep of SCEP challenges, nonces and transactions", app.scep_challenges.sweep),
    ]
    loop = MaintenanceLoop(tasks, settings.revocation_interval_seconds)

    def startup() -> None:
        loop.start()
        app.notifications.worker.start()

    def shutdown() -> None:
        app.notifications.worker.stop()
        loop.stop()
        app.close()

    return create_app(app, max_body_bytes=settings.max_body_bytes, on_startup=startup, on_shutdown=shutdown)


def is_initialised(app: Application) -> bool:
    return migrate.is_current(app.database) and app.keys.is_initialised()


def _pkcs11_config(database: Database) -> Callable[[], Pkcs11Config | None]:
    """Reads the stored PKCS#11 configuration when the token is first used."""

    def read() -> Pkcs11Config | None:
        with database.read() as uow:
            stored = uow.key_stores.get_pkcs11()
        return None if stored is None else stored.config

    return read


def _from_settings(settings: Settings) -> Callable[[], bytes]:
    def read() -> bytes:
        value = settings.passphrase()
        if value is None:
            raise KeystoreUnavailable("no key store passphrase: set CHANCERY_KEY_PASSPHRASE")
        return value

    return read


def custodians_from_environment(names: tuple[str, ...], threshold: int) -> dict[str, bytes]:
    """Custodians' passphrases from CHANCERY_CUSTODIAN_PASSPHRASE_<NAME> (servers, scripts)."""
    found = {name: os.environ.get(passphrase_variable(name), "") for name in names}
    return {name: value.encode() for name, value in found.items() if value}


# -- backups (chancery backup ...) ---------------------------------------------------------------


def _backups(
    settings: Settings,
    database: Database,
    writer: GroupCommitWriter,
    keys: SoftwareKeyStore,
    quorum_vault: SqlQuorumVault,
    clock: Clock,
) -> BackupCreator:
    from chancery import __version__

    keyring = BackupKeyring(SqlSealedKeyVault(database, clock), lambda: keys.sealer, keys.unlock, quorum_vault.shares)
    source = BackupSource(
        SqlDatabaseSnapshots(database), keyring, settings.data_dir, __version__, settings.kdf_scrypt_n
    )
    return BackupCreator(source, writer, clock)


def backup_key_opener(passphrase: PassphraseSource, custodians: CustodianSource | None = None) -> BackupKeyOpener:
    """Opens the backup key a backup's header carries, with the key store secret (passphrase, or key
    custodians' passphrases under a quorum) of the installation that made the backup."""
    return lambda sealed: open_backup_key(sealed, passphrase, custodians or custodians_from_environment)


def backup_restorer(
    passphrase: PassphraseSource,
    custodians: CustodianSource | None = None,
    pin_prompt: PinPrompt | None = None,
    clock: Clock | None = None,
) -> BackupRestorer:
    """``chancery backup restore``: needs no installation, only the backup and its secrets."""
    environment = RestoreEnvironment(
        targets=SqlRestoreTargets(),
        open_backup_key=backup_key_opener(passphrase, custodians),
        hsm_probe=lambda data_dir, url: _HsmKeyProbe(data_dir, url, pin_prompt),
        installations=_installation_at,
        clock=clock or SystemClock(),
    )
    return BackupRestorer(environment)


@contextmanager
def _installation_at(data_dir: Path, database_url: str | None) -> Iterator[DualControl | None]:
    """The dual control of the installation at ``data_dir`` (and ``database_url``), if one is there."""
    app = build(load_settings({}, data_dir=str(data_dir), database_url=database_url), b"")
    try:
        yield app.dual_control if migrate.current_revision(app.database) is not None else None
    finally:
        app.close()


class _HsmKeyProbe:
    """Checks a restored installation's HSM keys against its own PKCS#11 configuration."""

    def __init__(self, data_dir: Path, database_url: str | None, pin_prompt: PinPrompt | None) -> None:
        self._settings = load_settings({}, data_dir=str(data_dir), database_url=database_url)
        self._pin_prompt = pin_prompt

    def check(self, keys: Sequence[ExpectedHsmKey]) -> list[HsmKeyStatus] | None:
        app = build(self._settings, b"", pin_prompt=self._pin_prompt)
        try:
            if _pkcs11_config(app.database)() is None:
                return None
            return [_probe_hsm_key(app.key_router, key) for key in keys]
        finally:
            app.close()


def _probe_hsm_key(router: KeyRouter, key: ExpectedHsmKey) -> HsmKeyStatus:
    try:
        public = router.load(key.key_id).public_key()
    except CAError as error:
        return HsmKeyStatus(key, False, error.detail)
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key_sha256 and hashlib.sha256(spki).hexdigest() != key.public_key_sha256:
        return HsmKeyStatus(key, False, "the token holds a key with this id, but its public key differs")
    return HsmKeyStatus(key, True, "present")
