"""One transaction's view of the repositories."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from chancery.store.acme import AcmeRepository
from chancery.store.approvals import OperationRepository
from chancery.store.audit import AuditRepository
from chancery.store.authorities import AuthorityRepository
from chancery.store.certificates import CertificateRepository
from chancery.store.custodians import CustodianRepository
from chancery.store.emv import EmvRepository
from chancery.store.identity import (
    GrantRepository,
    GroupRepository,
    LdapSettingsRepository,
    SessionRepository,
    UserRepository,
)
from chancery.store.key_stores import KeyStoreRepository
from chancery.store.notifications import NotificationRepository
from chancery.store.ocsp_responses import OcspResponseRepository
from chancery.store.policies import PolicyRepository
from chancery.store.profiles import ProfileRepository
from chancery.store.registration import RegistrationRepository
from chancery.store.revocation import (
    CrlRepository,
    ResponderRepository,
    RevocationEventRepository,
    RevocationSettingsRepository,
)
from chancery.store.scep import ScepRepository
from chancery.store.tokens import TokenRepository
from chancery.store.trust_anchors import TrustAnchorRepository


class UnitOfWork:
    """Repositories sharing one connection and transaction."""

    def __init__(self, conn: Connection) -> None:
        self.connection = conn
        self.authorities = AuthorityRepository(conn)
        self.certificates = CertificateRepository(conn)
        self.tokens = TokenRepository(conn)
        self.trust_anchors = TrustAnchorRepository(conn)
        self.revocation_settings = RevocationSettingsRepository(conn)
        self.revocation_events = RevocationEventRepository(conn)
        self.crls = CrlRepository(conn)
        self.ocsp_responses = OcspResponseRepository(conn)
        self.ocsp_responders = ResponderRepository(conn)
        self.profiles = ProfileRepository(conn)
        self.users = UserRepository(conn)
        self.groups = GroupRepository(conn)
        self.grants = GrantRepository(conn)
        self.ldap = LdapSettingsRepository(conn)
        self.sessions = SessionRepository(conn)
        self.audit = AuditRepository(conn)
        self.operations = OperationRepository(conn)
        self.policies = PolicyRepository(conn)
        self.emv = EmvRepository(conn)
        self.registration = RegistrationRepository(conn)
        self.notifications = NotificationRepository(conn)
        self.key_stores = KeyStoreRepository(conn)
        self.custodians = CustodianRepository(conn)
        self.acme = AcmeRepository(conn)
        self.scep = ScepRepository(conn)
