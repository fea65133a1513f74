"""Logging in with an LDAP account, end to end: a real OpenLDAP slapd (tests/support/slapd.py), the wired
application on SQLite and PostgreSQL, the services called directly and over REST.

The directory's groups map to Chancery roles scoped to a CA (``chancery ldap configure --group-map``);
the roles hold at the login that read the groups, and change at the next login after the directory does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from ldap3 import MODIFY_REPLACE, NONE, Connection, Server
from sqlalchemy import select

from chancery import wiring
from chancery.domain.identity import UserSource
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Grant, Principal, Role
from chancery.domain.queries import AuditFilter
from chancery.domain.records import CertificateAuthorityRecord, CertificateStatus
from chancery.domain.revocation import RevocationReason
from chancery.errors import Forbidden, InternalError, Malformed, Unauthorized
from chancery.services.authority.cycle import Issued
from chancery.services.authority.hierarchy import NewCA
from chancery.services.authority.issuance import IssueFromCsr
from chancery.services.certificates import RevokeRequest
from chancery.services.identity.accounts import NewGrant
from chancery.services.identity.directory_settings import LdapConfiguration
from chancery.store.tables import metadata, users
from chancery.web.app import create_app
from tests.support.csrs import make_csr
from tests.support.slapd import GROUPS, PEOPLE, Slapd, group_dn, slapd_available, start_slapd, user_dn

pytestmark = pytest.mark.integration

ALICE_PASSWORD = PEOPLE["alice"][0]
BOB_PASSWORD = PEOPLE["bob"][0]
OPS_GROUP = group_dn("ca-ops")  # alice's group
PROBLEM = "application/problem+json"
FAILED = "login failed"


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    if not slapd_available():
        pytest.fail("OpenLDAP slapd is not installed (/usr/sbin/slapd; `make test` installs package slapd)")
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


@pytest.fixture
def directory_admin(slapd: Slapd) -> Iterator[Connection]:
    """The directory's own administrator (rootdn), to change entries behind Chancery's back."""
    conn = Connection(Server(slapd.url, get_info=NONE), slapd.admin_dn, slapd.admin_password, auto_bind=True)
    yield conn
    conn.unbind()


@pytest.fixture
def cas(app: wiring.Application, admin: Principal, root: CertificateAuthorityRecord) -> tuple[str, str]:
    for name in ("issuing-1", "issuing-2"):
        app.hierarchy.create_intermediate(
            admin, NewCA(name, f"CN=LDAP Test {name},O=Chancery Tests", KeyType.EC_P256, parent="root")
        )
    return "issuing-1", "issuing-2"


def configuration(slapd: Slapd, *group_map: str, bind_password: str | None = None) -> LdapConfiguration:
    return LdapConfiguration(
        url=slapd.url,
        base_dn=slapd.base_dn,
        bind_dn=slapd.bind_dn,
        bind_password=slapd.bind_password if bind_password is None else bind_password,
        group_map=group_map,
    )


@pytest.fixture
def ldap(app: wiring.Application, admin: Principal, slapd: Slapd, cas: tuple[str, str]) -> Slapd:
    """The directory configured the way the issue's acceptance test says: alice's group -> ra-officer@issuing-1."""
    app.directory.configure(admin, configuration(slapd, f"{OPS_GROUP}=ra-officer@issuing-1"))
    return slapd


# -- helpers -----------------------------------------------------------------------------------


def issue(app: wiring.Application, principal: Principal, ca: str, cn: str = "www.example.com") -> Issued:
    _, csr = make_csr(cn=cn, sans=(f"DNS:{cn}",))
    return app.issuance.issue_from_csr(principal, IssueFromCsr(ca, "tls-server", csr))


def logins(app: wiring.Application, admin: Principal, action: str = "login") -> list[tuple[str, str, str | None]]:
    """(action, outcome, target) of the login entries, oldest first."""
    entries = app.audit.search(admin, AuditFilter(action=action), limit=1000)
    return [(e.action, e.outcome, e.target) for e in reversed(entries)]


def succeeded(app: wiring.Application, admin: Principal) -> list[str | None]:
    return [target for action, _, target in logins(app, admin) if action == "login.succeeded"]


def binds(slapd: Slapd) -> int:
    """How many bind requests the server has had (slapd logs each twice: the request, then the mechanism)."""
    return len(re.findall(r' BIND dn="[^"]*" method=', slapd.log()))


@contextmanager
def members(conn: Connection, group: str, *uids: str) -> Iterator[None]:
    """``group`` has exactly these members (someone who is nobody when none: groupOfNames needs one)
    until the block ends, then the members it had."""
    before = [user_dn(uid) for uid in GROUPS[group.split(",")[0].removeprefix("cn=")]]
    wanted = [user_dn(uid) for uid in uids] or [user_dn("nobody")]
    assert conn.modify(group, {"member": [(MODIFY_REPLACE, wanted)]}), conn.result
    try:
        yield
    finally:
        assert conn.modify(group, {"member": [(MODIFY_REPLACE, before)]}), conn.result


def every_text_value(app: wiring.Application) -> Iterator[tuple[str, str, str]]:
    """(table, column, value) of every string and byte column of every row of every table."""
    with app.database.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if isinstance(value, bytes | bytearray | memoryview):
                        yield table.name, column, bytes(value).decode("latin-1")
                    elif isinstance(value, str):
                        yield table.name, column, value


# -- 1, 2: the directory's groups are the user's roles ------------------------------------------


def test_alice_is_an_ra_officer_on_issuing_1_only(app: wiring.Application, admin: Principal, ldap: Slapd) -> None:
    login = app.authenticator.password_login("alice", ALICE_PASSWORD)
    alice = login.principal

    assert alice.name == "alice"
    assert alice.grants == frozenset({Grant(Role.RA_OFFICER, "issuing-1")})
    assert login.user.source is UserSource.LDAP and login.user.display_name == "Alice Liddell"
    assert login.user.directory_groups == (OPS_GROUP,)

    # ra-officer: certificate:issue and certificate:revoke on issuing-1, through the services themselves
    issued = issue(app, alice, "issuing-1")
    assert issued.record.ca_name == "issuing-1"
    revoked = app.certificates.revoke(
        alice, RevokeRequest("issuing-1", issued.record.serial, RevocationReason.keyCompromise)
    )
    assert revoked.status(app.clock.now()) is CertificateStatus.REVOKED
    assert app.certificates.get(alice, "issuing-1", issued.record.serial).revocation is not None

    # and nothing on issuing-2: not issue, not revoke (an administrator's certificate), not even read
    elsewhere = issue(app, admin, "issuing-2", "other.example.com")
    with pytest.raises(Forbidden, match="alice may not certificate:issue on CA issuing-2"):
        issue(app, alice, "issuing-2", "refused.example.com")
    with pytest.raises(Forbidden):
        app.certificates.revoke(alice, RevokeRequest("issuing-2", elsewhere.record.serial))
    with pytest.raises(Forbidden):
        app.certificates.get(alice, "issuing-2", elsewhere.record.serial)
    assert app.certificates.get(admin, "issuing-2", elsewhere.record.serial).revocation is None
    # an ra-officer is no administrator, not even on issuing-1
    with pytest.raises(Forbidden):
        app.hierarchy.create_intermediate(alice, NewCA("alices-ca", "CN=Alice's CA", KeyType.EC_P256, "issuing-1"))
    with pytest.raises(Forbidden):
        app.directory.configure(alice, configuration(ldap, f"{OPS_GROUP}=administrator"))


def test_bob_logs_in_but_holds_no_role(app: wiring.Application, admin: Principal, ldap: Slapd) -> None:
    login = app.authenticator.password_login("bob", BOB_PASSWORD)
    bob = login.principal

    assert (bob.name, bob.roles, bob.grants) == ("bob", frozenset(), frozenset())
    assert login.user.directory_groups == (group_dn("auditors"),)  # a group, but no mapping names it
    for ca in ("issuing-1", "issuing-2"):
        with pytest.raises(Forbidden):
            issue(app, bob, ca)
    serial = issue(app, admin, "issuing-1").record.serial
    with pytest.raises(Forbidden):
        app.certificates.revoke(bob, RevokeRequest("issuing-1", serial))
    with pytest.raises(Forbidden):
        app.audit.search(bob, AuditFilter())
    assert app.certificates.get(admin, "issuing-1", serial).revocation is None


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(str.upper, id="upper-case"),
        pytest.param(lambda dn: dn.replace(",", ", "), id="spaces-after-commas"),
    ],
)
def test_a_mapping_may_spell_the_group_dn_differently(
    app: wiring.Application, admin: Principal, ldap: Slapd, spelling: Callable[[str], str]
) -> None:
    app.directory.configure(admin, configuration(ldap, f"{spelling(OPS_GROUP)}=ca-operator@issuing-2"))

    alice = app.authenticator.password_login("alice", ALICE_PASSWORD).principal

    assert alice.grants == frozenset({Grant(Role.CA_OPERATOR, "issuing-2")})


def test_without_a_directory_an_ldap_user_is_unknown(app: wiring.Application, admin: Principal, slapd: Slapd) -> None:
    before = binds(slapd)

    with pytest.raises(Unauthorized, match=FAILED):
        app.authenticator.password_login("alice", ALICE_PASSWORD)

    assert binds(slapd) == before
    assert logins(app, admin) == [("login.failed", "failure", "alice")]


# -- 3: refused logins ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password"),
    [
        pytest.param("alice", "wrong-password", id="fail/wrong-password"),
        pytest.param("alice", BOB_PASSWORD, id="fail/another-users-password"),
        pytest.param("mallory", ALICE_PASSWORD, id="fail/unknown-user"),
        pytest.param("*)(uid=*", ALICE_PASSWORD, id="fail/injection-wildcard"),
        pytest.param("*", ALICE_PASSWORD, id="fail/injection-star"),
        pytest.param("al*", ALICE_PASSWORD, id="fail/injection-prefix"),
        pytest.param("alice)(|(uid=*", ALICE_PASSWORD, id="fail/injection-or"),
        pytest.param("alice\\00", ALICE_PASSWORD, id="fail/injection-escaped-nul"),
        pytest.param("alice\x00", ALICE_PASSWORD, id="fail/injection-nul"),
        pytest.param("alice\x00junk", ALICE_PASSWORD, id="fail/injection-nul-then-more"),
        pytest.param("a" * 129, ALICE_PASSWORD, id="fail/129-characters"),
        pytest.param("", ALICE_PASSWORD, id="fail/empty-username"),
    ],
)
def test_refused_logins_are_unauthorized_with_one_message(
    app: wiring.Application, admin: Principal, ldap: Slapd, username: str, password: str
) -> None:
    with pytest.raises(Unauthorized) as refused:
        app.authenticator.password_login(username, password)

    assert refused.value.detail.startswith(FAILED)
    # audited as a failure, nothing else: no account, no success, no role
    entries = logins(app, admin)
    assert entries and {action for action, _, _ in entries} == {"login.failed"}
    assert all(outcome == "failure" for _, outcome, _ in entries)
    assert not [u for u in app.accounts.list_users(admin) if u.source is UserSource.LDAP]
    assert not logins(app, admin, "user.created")


def test_unknown_user_and_wrong_password_read_the_same(app: wiring.Application, ldap: Slapd) -> None:
    with pytest.raises(Unauthorized) as unknown:
        app.authenticator.password_login("mallory", ALICE_PASSWORD)
    with pytest.raises(Unauthorized) as wrong:
        app.authenticator.password_login("alice", "wrong-password")

    assert (type(unknown.value), unknown.value.detail) == (type(wrong.value), wrong.value.detail)


def test_injection_never_reaches_another_entry(app: wiring.Application, admin: Principal, ldap: Slapd) -> None:
    """``*)(uid=*`` with each real password: a filter that matched anything would log someone in."""
    log_before = len(ldap.log())
    for password, _ in PEOPLE.values():
        for username in ("*)(uid=*", "*", "*)(|(objectClass=*", "alice)(|(uid=*"):
            with pytest.raises(Unauthorized):
                app.authenticator.password_login(username, password)

    assert succeeded(app, admin) == []
    # the searches the server was asked carry the name escaped (RFC 4515 §3), never as filter syntax
    searched = re.findall(r'SRCH base="[^"]*" .*filter="(\(uid=[^"]*\))"', ldap.log()[log_before:])
    assert len(searched) == 12
    assert "(uid=\\2A\\29\\28uid=\\2A)" in searched and "(uid=\\2A)" in searched
    assert not [f for f in searched if "*" in f or f.count("(") != 1]


def test_an_empty_password_is_refused_without_a_bind(app: wiring.Application, admin: Principal, ldap: Slapd) -> None:
    before = binds(ldap)

    for _ in range(2):  # also once the account exists
        with pytest.raises(Unauthorized, match=FAILED):
            app.authenticator.password_login("alice", "")
        app.authenticator.password_login("alice", ALICE_PASSWORD)
        before += 2  # the login that worked: the service account, then alice

    assert binds(ldap) == before
    assert [a for a, _, _ in logins(app, admin)] == ["login.failed", "login.succeeded"] * 2


def test_repeated_wrong_passwords_lock_the_ldap_account(app: wiring.Application, admin: Principal, ldap: Slapd) -> None:
    app.authenticator.password_login("alice", ALICE_PASSWORD)  # the account exists from now on
    for _ in range(5):
        with pytest.raises(Unauthorized):
            app.authenticator.password_login("alice", "wrong-password")
    before = binds(ldap)

    with pytest.raises(Unauthorized, match=FAILED):
        app.authenticator.password_login("alice", ALICE_PASSWORD)  # the right password, while locked

    assert binds(ldap) == before  # refused before the directory is asked
    assert app.accounts.get_user(admin, "alice").locked_until is not None
    assert len(logins(app, admin, "account.locked")) == 1


def test_a_user_disabled_in_chancery_cannot_log_in_with_the_directory_password(
    app: wiring.Application, admin: Principal, ldap: Slapd
) -> None:
    app.authenticator.password_login("alice", ALICE_PASSWORD)
    app.accounts.set_disabled(admin, "alice", True)

    with pytest.raises(Unauthorized, match=FAILED):
        app.authenticator.password_login("alice", ALICE_PASSWORD)

    assert succeeded(app, admin) == ["alice"]


@pytest.mark.parametrize("spelling", ["ALICE", "Alice", " alice", "alice "])
def test_another_spelling_of_a_disabled_name_is_refused_too(
    app: wiring.Application, admin: Principal, ldap: Slapd, spelling: str
) -> None:
    """The directory matches ``uid`` ignoring case and outer spaces (RFC 4517 caseIgnoreMatch): another
    spelling is the same entry, so it must be the same Chancery account, not a fresh one that is not disabled."""
    app.authenticator.password_login("alice", ALICE_PASSWORD)
    app.accounts.set_disabled(admin, "alice", True)

    with pytest.raises(Unauthorized, match=FAILED):
        app.authenticator.password_login(spelling, ALICE_PASSWORD)

    assert succeeded(app, admin) == ["alice"]
    assert [u.name for u in app.accounts.list_users(admin) if u.source is UserSource.LDAP] == ["alice"]


def test_every_spelling_the_directory_matches_is_one_account(
    app: wiring.Application, admin: Principal, ldap: Slapd
) -> None:
    for spelling in ("alice", "ALICE", "  Alice ", "\uff21lice"):  # the last: a fullwidth A (NFKC: A)
        login = app.authenticator.password_login(spelling, ALICE_PASSWORD)
        assert login.user.name == login.principal.name == "alice"
        assert login.principal.grants == frozenset({Grant(Role.RA_OFFICER, "issuing-1")})

    assert [u.name for u in app.accounts.list_users(admin) if u.source is UserSource.LDAP] == ["alice"]
    assert succeeded(app, admin) == ["alice"] * 4
    assert len(logins(app, admin, "user.created")) == 1


def test_wrong_passwords_under_other_spellings_count_towards_one_lockout(
    app: wiring.Application, admin: Principal, ldap: Slapd
) -> None:
    app.authenticator.password_login("alice", ALICE_PASSWORD)
    for spelling in ("ALICE", "Alice", "alice ", "aLiCe", " ALICE"):
        with pytest.raises(Unauthorized):
            app.authenticator.password_login(spelling, "wrong-password")

    with pytest.raises(Unauthorized, match=FAILED):
        app.authenticator.password_login("alice", ALICE_PASSWORD)
    assert app.accounts.get_user(admin, "alice").failed_logins == 5
    assert [e.target for e in app.audit.search(admin, AuditFilter(action="account.locked"))] == ["alice"]


def test_a_local_users_name_in_another_case_is_not_the_directory_entrys(
    app: wiring.Application, admin: Principal, ldap: Slapd
) -> None:
    """Local user ``bob`` logs in with his Chancery password; ``BOB`` with the directory bob's password
    is neither local bob (a different person, perhaps an administrator) nor a new account."""
    app.accounts.add_user(admin, "bob", "correct horse battery local")
    app.accounts.grant(admin, NewGrant(Role.ADMINISTRATOR, user="bob"))

    assert app.authenticator.password_login("bob", "correct horse battery local").principal.has(Role.ADMINISTRATOR)
    with pytest.raises(Unauthorized, match=FAILED):
        app.authenticator.password_login("bob", BOB_PASSWORD)  # the local account: the directory is not asked
    for spelling in ("BOB", "Bob", " bob"):
        with pytest.raises(Unauthorized, match=FAILED):
            app.authenticator.password_login(spelling, BOB_PASSWORD)

    assert [(u.name, u.source) for u in app.accounts.list_users(admin) if u.name.casefold().strip() == "bob"] == [
        ("bob", UserSource.LOCAL)
    ]


# -- 4: no local copy of a directory password ------------------------------------------------------


def test_no_password_is_kept_in_the_database(app: wiring.Application, admin: Principal, ldap: Slapd) -> None:
    app.authenticator.password_login("alice", ALICE_PASSWORD)
    app.authenticator.password_login("bob", BOB_PASSWORD)
    with pytest.raises(Unauthorized):
        app.authenticator.password_login("alice", "a-wrong-guess-1")

    for name in ("alice", "bob"):
        record = app.accounts.get_user(admin, name)
        assert (record.source, record.password_hash, record.totp_sealed) == (UserSource.LDAP, None, None)
    with app.database.engine.connect() as conn:
        rows = conn.execute(select(users.c.name, users.c.password_hash).order_by(users.c.name)).all()
    assert [(name, hash_) for name, hash_ in rows if name in ("alice", "bob")] == [("alice", None), ("bob", None)]

    values = list(every_text_value(app))
    assert {table for table, _, _ in values} >= {"users", "ldap_settings", "audit_log"}
    for secret in (ldap.bind_password, ALICE_PASSWORD, BOB_PASSWORD, "a-wrong-guess-1"):
        leaks = [(table, column) for table, column, value in values if secret in value]
        assert leaks == [], f"{secret!r} found in {leaks}"
    assert app.directory.current(admin).bind_password_sealed not in (None, "", ldap.bind_password)  # type: ignore[union-attr]


# -- 5: the directory changes, the next login follows -------------------------------------------


def test_leaving_the_group_takes_the_role_away_at_the_next_login(
    app: wiring.Application, admin: Principal, ldap: Slapd, directory_admin: Connection
) -> None:
    before = app.authenticator.password_login("alice", ALICE_PASSWORD).principal
    assert before.grants == frozenset({Grant(Role.RA_OFFICER, "issuing-1")})
    issue(app, before, "issuing-1")

    with members(directory_admin, OPS_GROUP):
        after = app.authenticator.password_login("alice", ALICE_PASSWORD)

    assert after.principal.grants == frozenset()
    assert after.user.directory_groups == ()
    with pytest.raises(Forbidden):
        issue(app, after.principal, "issuing-1")
    assert app.accounts.get_user(admin, "alice").directory_groups == ()
    # and back in the group, back in the role
    again = app.authenticator.password_login("alice", ALICE_PASSWORD).principal
    assert again.grants == frozenset({Grant(Role.RA_OFFICER, "issuing-1")})


def test_a_group_added_in_the_directory_counts_at_the_next_login(
    app: wiring.Application, admin: Principal, ldap: Slapd, directory_admin: Connection
) -> None:
    app.directory.configure(
        admin, configuration(ldap, f"{OPS_GROUP}=ra-officer@issuing-1", f"{group_dn('auditors')}=auditor")
    )
    assert app.authenticator.password_login("alice", ALICE_PASSWORD).principal.grants == frozenset(
        {Grant(Role.RA_OFFICER, "issuing-1")}
    )

    with members(directory_admin, group_dn("auditors"), "bob", "alice"):
        alice = app.authenticator.password_login("alice", ALICE_PASSWORD).principal

    assert alice.grants == frozenset({Grant(Role.RA_OFFICER, "issuing-1"), Grant(Role.AUDITOR)})
    assert app.audit.search(alice, AuditFilter(action="login"))  # an auditor everywhere now


def test_a_user_deleted_from_the_directory_cannot_log_in(
    app: wiring.Application, admin: Principal, ldap: Slapd, directory_admin: Connection
) -> None:
    dave = user_dn("dave")
    attributes = {"uid": "dave", "cn": "Dave Null", "sn": "Null", "userPassword": "dave-password-4444"}
    assert directory_admin.add(dave, ["inetOrgPerson"], attributes), directory_admin.result
    try:
        with members(directory_admin, OPS_GROUP, "alice", "dave"):
            assert app.authenticator.password_login("dave", "dave-password-4444").principal.grants
    finally:
        directory_admin.delete(dave)

    with pytest.raises(Unauthorized, match=FAILED):
        app.authenticator.password_login("dave", "dave-password-4444")
    assert [a for a, _, t in logins(app, admin) if t == "dave"] == ["login.succeeded", "login.failed"]


# -- `chancery ldap test` (the service) ----------------------------------------------------------


def test_check_shows_the_entry_groups_and_roles(app: wiring.Application, admin: Principal, ldap: Slapd) -> None:
    before = binds(ldap)

    check = app.directory.check(admin, "alice")

    assert check.user is not None
    assert (check.user.dn, check.user.display_name, check.user.groups) == (
        user_dn("alice"),
        "Alice Liddell",
        (OPS_GROUP,),
    )
    assert check.grants == (Grant(Role.RA_OFFICER, "issuing-1"),)
    assert app.directory.check(admin, "bob").grants == ()
    assert app.directory.check(admin, "mallory").user is None
    assert app.directory.check(admin, "*").user is None
    assert binds(ldap) == before + 4  # the service account only, never a user
    with pytest.raises(Forbidden):
        app.directory.check(Principal("nobody"), "alice")
    assert succeeded(app, admin) == []  # checking is not logging in


# -- 6: REST -------------------------------------------------------------------------------------


@pytest.fixture
def client(app: wiring.Application, ldap: Slapd) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as http:
        yield http


def test_rest_login_gives_a_token_carrying_the_directory_roles(
    app: wiring.Application, admin: Principal, client: TestClient
) -> None:
    response = client.post("/api/v1/auth/login", json={"username": "alice", "password": ALICE_PASSWORD})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] == "alice" and body["token"].startswith("chy_") and body["expires_at"]
    auth = {"Authorization": f"Bearer {body['token']}"}
    me = client.get("/api/v1/auth/me", headers=auth)
    assert me.status_code == 200, me.text
    assert me.json() == {
        "name": "alice",
        "kind": "token",
        "grants": [{"role": "ra-officer", "ca": "issuing-1", "profile": None, "ra": None}],
    }
    # the token acts as alice: issue on issuing-1, refused on issuing-2
    csr = make_csr()[1].decode()
    ok = client.post("/api/v1/cas/issuing-1/certificates", json={"csr": csr, "profile": "tls-server"}, headers=auth)
    assert ok.status_code == 201, ok.text
    refused = client.post(
        "/api/v1/cas/issuing-2/certificates", json={"csr": csr, "profile": "tls-server"}, headers=auth
    )
    assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM
    assert ALICE_PASSWORD not in response.text + me.text
    assert succeeded(app, admin) == ["alice"]


def test_rest_bob_gets_a_token_with_no_grants(client: TestClient) -> None:
    token = client.post("/api/v1/auth/login", json={"username": "bob", "password": BOB_PASSWORD}).json()["token"]

    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()

    assert (me["name"], me["grants"]) == ("bob", [])


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"username": "alice", "password": "wrong-password"}, id="fail/wrong-password"),
        pytest.param({"username": "mallory", "password": ALICE_PASSWORD}, id="fail/unknown-user"),
        pytest.param({"username": "*)(uid=*", "password": ALICE_PASSWORD}, id="fail/injection"),
        pytest.param({"username": "alice\x00", "password": ALICE_PASSWORD}, id="fail/nul"),
        pytest.param({"username": "alice", "password": ""}, id="fail/empty-password"),
    ],
)
def test_rest_refused_login_is_a_401_problem(
    app: wiring.Application, admin: Principal, client: TestClient, body: dict[str, str]
) -> None:
    response = client.post("/api/v1/auth/login", json=body)

    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:chancery:problem:unauthorized" and problem["status"] == 401
    assert problem["detail"].startswith(FAILED)
    assert "token" not in problem
    assert ALICE_PASSWORD not in response.text
    assert {a for a, _, _ in logins(app, admin)} == {"login.failed"}


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(b'{"username": "alice", "password": ', "application/json", id="fail/truncated-json"),
        pytest.param(b"username=alice&password=x", "application/x-www-form-urlencoded", id="fail/form"),
        pytest.param(b'{"username": "alice"}', "application/json", id="fail/no-password"),
        pytest.param(b'{"user": "alice", "password": "x"}', "application/json", id="fail/wrong-field"),
        pytest.param(b'["alice", "x"]', "application/json", id="fail/array"),
        pytest.param(b'{"username": 7, "password": "x"}', "application/json", id="fail/number"),
        pytest.param(
            b'{"username": "alice", "password": "' + ALICE_PASSWORD.encode() + b'", "admin": true}',
            "application/json",
            id="fail/extra-field",
        ),
        pytest.param(b'{"username": "", "password": "x"}', "application/json", id="fail/empty-username"),
        pytest.param(
            b'{"username": "' + b"a" * 129 + b'", "password": "x"}', "application/json", id="fail/long-username"
        ),
    ],
)
def test_rest_malformed_login_is_a_400_and_logs_nobody_in(
    app: wiring.Application, admin: Principal, ldap: Slapd, client: TestClient, content: bytes, content_type: str
) -> None:
    before = binds(ldap)

    response = client.post("/api/v1/auth/login", content=content, headers={"Content-Type": content_type})

    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == PROBLEM
    assert "token" not in response.json()
    assert succeeded(app, admin) == []
    assert binds(ldap) == before  # never reached the directory


def test_rest_login_after_leaving_the_group(client: TestClient, ldap: Slapd, directory_admin: Connection) -> None:
    first = client.post("/api/v1/auth/login", json={"username": "alice", "password": ALICE_PASSWORD}).json()
    with members(directory_admin, OPS_GROUP):
        second = client.post("/api/v1/auth/login", json={"username": "alice", "password": ALICE_PASSWORD}).json()

    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {second['token']}"}).json()
    assert me["grants"] == []
    # a user token acts with the user's roles as they are now: the first token lost the role too
    first_me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {first['token']}"})
    assert first_me.status_code == 200 and first_me.json()["grants"] == []


# -- 7: the audit trail --------------------------------------------------------------------------


def test_ldap_logins_are_audited(app: wiring.Application, admin: Principal, ldap: Slapd) -> None:
    app.authenticator.password_login("alice", ALICE_PASSWORD, source="192.0.2.7")
    with pytest.raises(Unauthorized):
        app.authenticator.password_login("alice", "wrong-password", source="192.0.2.7")
    with pytest.raises(Unauthorized):
        app.authenticator.password_login("mallory", "whatever", source="192.0.2.8")
    app.authenticator.password_login("alice", ALICE_PASSWORD, source="192.0.2.7")

    entries = list(reversed(app.audit.search(admin, AuditFilter(action="login"))))

    assert [(e.action, e.outcome, e.actor, e.target) for e in entries] == [
        ("login.succeeded", "success", "alice", "alice"),
        ("login.failed", "failure", "alice", "alice"),
        ("login.failed", "failure", "mallory", "mallory"),
        ("login.succeeded", "success", "alice", "alice"),
    ]
    first, wrong, unknown, _ = (e.details for e in entries)
    assert first["method"] == "ldap" and first["source"] == "192.0.2.7"
    assert first["dn"] == user_dn("alice") and first["groups"] == [OPS_GROUP]
    assert wrong["method"] == "ldap" and wrong["failures"] == 1 and wrong["reason"]
    assert unknown["method"] == "ldap" and unknown["source"] == "192.0.2.8"
    created = app.audit.search(admin, AuditFilter(action="user.created"))
    assert [(e.actor, e.target, e.details) for e in created] == [("ldap", "alice", {"dn": user_dn("alice")})]
    assert app.audit.verify(admin).intact
    for entry in entries:
        assert ALICE_PASSWORD not in entry.details_json and "wrong-password" not in entry.details_json
        assert ldap.bind_password not in entry.details_json


def test_configuring_the_directory_is_audited_without_the_password(
    app: wiring.Application, admin: Principal, ldap: Slapd
) -> None:
    [entry] = app.audit.search(admin, AuditFilter(action="ldap.configured"))

    assert entry.actor == admin.name
    assert entry.details["url"] == ldap.url and entry.details["bind_dn"] == ldap.bind_dn
    assert entry.details["group_map"] == [f"{OPS_GROUP}=ra-officer@issuing-1"]
    assert ldap.bind_password not in entry.details_json


# -- the directory failing -----------------------------------------------------------------------


def test_a_wrong_service_password_fails_clearly_and_logs_nobody_in(
    app: wiring.Application, admin: Principal, ldap: Slapd
) -> None:
    before = app.directory.current(admin)
    with pytest.raises(Malformed, match="invalidCredentials") as refused:  # verified first
        app.directory.configure(admin, configuration(ldap, bind_password="not-the-reader-password"))
    assert "not-the-reader-password" not in str(refused.value)
    assert app.directory.current(admin) == before  # nothing changed
    app.directory.configure(admin, configuration(ldap, bind_password="not-the-reader-password"), verify=False)

    with pytest.raises(InternalError) as caught:
        app.authenticator.password_login("alice", ALICE_PASSWORD)
    with pytest.raises(InternalError) as checked:
        app.directory.check(admin, "alice")

    for error in (caught.value, checked.value):
        assert "LDAP service account bind refused (invalidCredentials)" in error.detail
        assert "not-the-reader-password" not in str(error) and ALICE_PASSWORD not in str(error)
    assert succeeded(app, admin) == []
