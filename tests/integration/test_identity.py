"""Local identity and authorisation at the service layer, on a real database.

Local users log in with Argon2id passwords (lockout, optional TOTP), client
certificates, tokens and portal sessions; what they may then do is decided by
their role grants, scoped to a CA or a profile, inside the services themselves.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import urllib.parse
from dataclasses import replace

import pytest
from cryptography import x509
from sqlalchemy import select

from chancery import wiring
from chancery.clock import FixedClock
from chancery.domain.approvals import OperationState
from chancery.domain.audit import AuditRecord
from chancery.domain.keytypes import KeyType
from chancery.domain.principals import Grant, Principal, Role
from chancery.domain.queries import AuditFilter, CertificateFilter, PageRequest
from chancery.domain.records import CertificateAuthorityRecord, CertificateState
from chancery.domain.revocation import RevocationReason
from chancery.errors import ApprovalRequired, Conflict, Forbidden, Malformed, NotFound, Unauthorized
from chancery.services.approvals import APPROVALS_POLICY
from chancery.services.authority.cycle import Issued
from chancery.services.authority.hierarchy import NewCA
from chancery.services.authority.issuance import IssueFromCsr, IssueWithNewKey
from chancery.services.certificates import RevokeRequest
from chancery.services.identity import totp
from chancery.services.identity.accounts import NewGrant
from chancery.services.identity.authentication import (
    LOCKOUT_MINUTES_POLICY,
    LOCKOUT_THRESHOLD_POLICY,
    SecondFactorRequired,
)
from chancery.services.identity.passwords import Passwords
from chancery.services.identity.sessions import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT
from chancery.store.tables import api_tokens, sessions, users
from tests.support.csrs import make_csr

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
WRONG = "incorrect horse battery staple"


# -- helpers -------------------------------------------------------------------------------------


def add_user(app: wiring.Application, admin: Principal, name: str, *grants: NewGrant) -> None:
    app.accounts.add_user(admin, name, PASSWORD, display_name=name.title())
    for grant in grants:
        app.accounts.grant(admin, replace(grant, user=name))


def login(app: wiring.Application, name: str, password: str = PASSWORD, code: str | None = None) -> Principal:
    return app.authenticator.password_login(name, password, code, source="test").principal


def audit(app: wiring.Application, admin: Principal, **query: str) -> list[AuditRecord]:
    return app.audit.search(admin, AuditFilter(**query), limit=1000)


def issue(
    app: wiring.Application, principal: Principal, ca: str, profile: str = "tls-server", cn: str = "www.example.com"
) -> Issued:
    sans = (f"DNS:{cn}",) if profile == "tls-server" else (f"email:{cn}@example.com",)
    _, csr = make_csr(cn=cn, sans=sans)
    return app.issuance.issue_from_csr(principal, IssueFromCsr(ca=ca, profile=profile, csr=csr))


def revoke(app: wiring.Application, principal: Principal, issued: Issued) -> None:
    record = issued.record
    app.certificates.revoke(principal, RevokeRequest(record.ca_name, record.serial, RevocationReason.superseded))


def state(app: wiring.Application, admin: Principal, issued: Issued) -> CertificateState:
    return app.certificates.get(admin, issued.record.ca_name, issued.record.serial).state


def count_certificates(app: wiring.Application, admin: Principal, ca: str) -> int:
    return len(app.certificates.search(admin, CertificateFilter(ca_name=ca), PageRequest(limit=500)).items)


def totp_secret(uri: str) -> bytes:
    secret = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query))["secret"]
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def current_code(secret: bytes, clock: FixedClock) -> str:
    return totp.code_at(secret, int(clock.now().timestamp()) // totp.STEP_SECONDS)


def wrong_codes(secret: bytes, clock: FixedClock, count: int) -> list[str]:
    """Codes that match no step in the window around now."""
    step = int(clock.now().timestamp()) // totp.STEP_SECONDS
    valid = {totp.code_at(secret, s) for s in range(step - totp.WINDOW, step + totp.WINDOW + 1)}
    return [code for code in (f"{n:06d}" for n in range(count + len(valid))) if code not in valid][:count]


@pytest.fixture
def cas(app: wiring.Application, admin: Principal, root: CertificateAuthorityRecord) -> tuple[str, str]:
    for name in ("issuing-1", "issuing-2"):
        app.hierarchy.create_intermediate(
            admin, NewCA(name, f"CN=Test {name},O=Chancery Tests", KeyType.EC_P256, parent="root")
        )
    return "issuing-1", "issuing-2"


# -- password login ------------------------------------------------------------------------------


def test_login_with_a_local_password(app: wiring.Application, admin: Principal, clock: FixedClock) -> None:
    add_user(app, admin, "alice")
    login_ = app.authenticator.password_login("alice", PASSWORD, source="192.0.2.7")
    assert login_.user.name == "alice" and login_.user.display_name == "Alice"
    assert login_.user.last_login_at == clock.now()
    assert login_.principal == Principal("alice", kind="user")  # no roles until granted
    [entry] = audit(app, admin, action="login.succeeded", target="alice")
    assert (entry.actor, entry.outcome) == ("alice", "success")
    assert entry.details == {"method": "password", "source": "192.0.2.7"}


def test_wrong_password_and_unknown_user_are_refused_alike_and_audited(
    app: wiring.Application, admin: Principal
) -> None:
    add_user(app, admin, "alice")
    with pytest.raises(Unauthorized) as wrong_password:
        login(app, "alice", WRONG)
    with pytest.raises(Unauthorized) as unknown_user:
        login(app, "mallory", PASSWORD)
    assert type(wrong_password.value) is type(unknown_user.value) is Unauthorized
    assert wrong_password.value.detail == unknown_user.value.detail
    assert "alice" not in wrong_password.value.detail and "mallory" not in unknown_user.value.detail

    [wrong] = audit(app, admin, action="login.failed", target="alice")
    assert wrong.outcome == "failure"
    assert wrong.details == {"reason": "wrong password", "source": "test", "method": "password", "failures": 1}
    [unknown] = audit(app, admin, action="login.failed", target="mallory")
    assert unknown.outcome == "failure"
    assert unknown.details == {"reason": "unknown user", "source": "test", "method": "password"}
    for entry in (wrong, unknown):
        assert WRONG not in entry.details_json and PASSWORD not in entry.details_json
    assert not audit(app, admin, action="login.succeeded")


@pytest.mark.parametrize(
    ("name", "password", "code"),
    [
        pytest.param("", PASSWORD, None, id="fail/empty-name"),
        pytest.param("a" * 129, PASSWORD, None, id="fail/long-name"),
        pytest.param("alice", "x" * 1025, None, id="fail/long-password"),
        pytest.param("alice", PASSWORD, "1" * 11, id="fail/long-code"),
    ],
)
def test_malformed_logins_are_refused_before_any_check(
    app: wiring.Application, admin: Principal, name: str, password: str, code: str | None
) -> None:
    add_user(app, admin, "alice")
    with pytest.raises(Unauthorized):
        login(app, name, password, code)
    [entry] = audit(app, admin, action="login.failed")
    assert entry.details["reason"] == "malformed request"
    assert app.accounts.get_user(admin, "alice").failed_logins == 0


def test_a_user_without_a_password_cannot_log_in_with_one(app: wiring.Application, admin: Principal) -> None:
    app.accounts.add_user(admin, "robot")
    with pytest.raises(Unauthorized):
        login(app, "robot", PASSWORD)


def test_weak_password_is_refused_when_the_user_is_added(app: wiring.Application, admin: Principal) -> None:
    with pytest.raises(Malformed):
        app.accounts.add_user(admin, "alice", "alice-password-1")
    with pytest.raises(Malformed):
        app.accounts.add_user(admin, "alice", "short")
    with pytest.raises(NotFound):
        app.accounts.get_user(admin, "alice")


def test_stored_hash_is_argon2id_and_old_parameters_are_upgraded_at_login(
    app: wiring.Application, admin: Principal
) -> None:
    add_user(app, admin, "alice")
    stored = app.accounts.get_user(admin, "alice").password_hash
    assert stored is not None and stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    weak = Passwords(time_cost=1, memory_kib=8192, lanes=1).hash(PASSWORD)
    user = app.accounts.get_user(admin, "alice")
    app.writer.run(lambda uow: uow.users.save(replace(user, password_hash=weak)))

    login(app, "alice")
    upgraded = app.accounts.get_user(admin, "alice").password_hash
    assert upgraded is not None and upgraded != weak
    assert upgraded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    login(app, "alice")  # the upgraded hash still checks


def test_upgrading_the_hash_keeps_what_the_login_changed(
    app: wiring.Application, admin: Principal, clock: FixedClock
) -> None:
    """The rehash at login must not write back the user as read before the login: the TOTP
    step just used (no replay) and the failure count stay as the login left them."""
    add_user(app, admin, "alice")
    secret = totp_secret(app.accounts.enrol_totp(admin, "alice").uri)
    with pytest.raises(Unauthorized):
        login(app, "alice", WRONG)
    user = app.accounts.get_user(admin, "alice")
    weak = Passwords(time_cost=1, memory_kib=8192, lanes=1).hash(PASSWORD)
    app.writer.run(lambda uow: uow.users.save(replace(user, password_hash=weak)))

    code = current_code(secret, clock)
    login(app, "alice", code=code)
    upgraded = app.accounts.get_user(admin, "alice")
    assert upgraded.password_hash is not None and upgraded.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert upgraded.failed_logins == 0
    assert upgraded.totp_last_step == int(clock.now().timestamp()) // totp.STEP_SECONDS
    with pytest.raises(Unauthorized):
        login(app, "alice", code=code)  # replayed


# -- lockout -------------------------------------------------------------------------------------


def test_five_failures_lock_the_account_for_fifteen_minutes(
    app: wiring.Application, admin: Principal, clock: FixedClock
) -> None:
    add_user(app, admin, "alice")
    locked_at = clock.now()
    for _ in range(4):
        with pytest.raises(Unauthorized):
            login(app, "alice", WRONG)
    assert not audit(app, admin, action="account.locked")
    with pytest.raises(Unauthorized):
        login(app, "alice", WRONG)
    [locked] = audit(app, admin, action="account.locked", target="alice")
    until = locked_at + dt.timedelta(minutes=15)
    assert locked.details == {"until": until.isoformat(), "failures": 5}
    assert app.accounts.get_user(admin, "alice").locked_until == until

    clock.advance(dt.timedelta(minutes=14, seconds=59))
    with pytest.raises(Unauthorized) as refused:
        login(app, "alice", PASSWORD)  # the right password, while locked
    assert refused.value.detail == (
        "login failed: wrong user name, password or one-time code, or the account is locked"
    )
    assert audit(app, admin, action="login.failed", target="alice")[0].details["reason"] == "account locked"

    clock.advance(dt.timedelta(seconds=1))
    assert login(app, "alice").name == "alice"
    user = app.accounts.get_user(admin, "alice")
    assert (user.failed_logins, user.locked_until) == (0, None)


def test_a_failure_after_the_lock_runs_out_locks_again_and_is_audited(
    app: wiring.Application, admin: Principal, clock: FixedClock
) -> None:
    add_user(app, admin, "alice")
    for _ in range(5):
        with pytest.raises(Unauthorized):
            login(app, "alice", WRONG)
    clock.advance(dt.timedelta(minutes=15))
    relocked_at = clock.now()
    with pytest.raises(Unauthorized):
        login(app, "alice", WRONG)  # the count was not reset by the lock running out
    with pytest.raises(Unauthorized):
        login(app, "alice")
    second, first = audit(app, admin, action="account.locked", target="alice")
    assert first.details["failures"] == 5
    assert second.details == {"until": (relocked_at + dt.timedelta(minutes=15)).isoformat(), "failures": 6}


def test_an_administrator_unlocks_a_locked_account(app: wiring.Application, admin: Principal) -> None:
    add_user(app, admin, "alice")
    for _ in range(5):
        with pytest.raises(Unauthorized):
            login(app, "alice", WRONG)
    with pytest.raises(Unauthorized):
        login(app, "alice")
    app.accounts.unlock(admin, "alice")
    assert login(app, "alice").name == "alice"
    [unlocked] = audit(app, admin, action="user.unlocked", target="alice")
    assert unlocked.actor == admin.name


def test_a_success_resets_the_count_and_the_threshold_is_a_policy(
    app: wiring.Application, admin: Principal, clock: FixedClock
) -> None:
    app.policies.set(admin, LOCKOUT_THRESHOLD_POLICY, 3)  # stricter: no approval needed
    app.policies.set(admin, LOCKOUT_MINUTES_POLICY, 60)
    add_user(app, admin, "alice")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            login(app, "alice", WRONG)
    login(app, "alice")  # resets the count
    for _ in range(2):
        with pytest.raises(Unauthorized):
            login(app, "alice", WRONG)
    login(app, "alice")  # two more failures did not lock: the count restarted
    for _ in range(3):
        with pytest.raises(Unauthorized):
            login(app, "alice", WRONG)
    [locked] = audit(app, admin, action="account.locked")
    assert locked.details["failures"] == 3
    clock.advance(dt.timedelta(minutes=59))
    with pytest.raises(Unauthorized):
        login(app, "alice")
    clock.advance(dt.timedelta(minutes=1))
    login(app, "alice")


def test_lockout_counts_per_user(app: wiring.Application, admin: Principal) -> None:
    add_user(app, admin, "alice")
    add_user(app, admin, "bob")
    for _ in range(5):
        with pytest.raises(Unauthorized):
            login(app, "alice", WRONG)
    assert login(app, "bob").name == "bob"
    assert app.accounts.get_user(admin, "bob").failed_logins == 0


# -- TOTP ----------------------------------------------------------------------------------------


def test_totp_second_factor(app: wiring.Application, admin: Principal, clock: FixedClock) -> None:
    add_user(app, admin, "alice")
    alice = login(app, "alice")
    enrolment = app.accounts.enrol_totp(alice, "alice")  # users enrol themselves
    assert enrolment.uri.startswith("otpauth://totp/Chancery%3Aalice?")
    secret = totp_secret(enrolment.uri)
    b32 = base64.b32encode(secret).decode().rstrip("=")
    assert all(b32 not in e.details_json for e in audit(app, admin, target="alice"))
    stored = app.accounts.get_user(admin, "alice").totp_sealed
    assert stored is not None and b32 not in stored and secret.hex() not in stored

    with pytest.raises(SecondFactorRequired):
        login(app, "alice")
    with pytest.raises(SecondFactorRequired):
        login(app, "alice", code="   ")
    assert audit(app, admin, action="login.failed", target="alice")[0].details["reason"] == "one-time code required"

    code = current_code(secret, clock)
    with pytest.raises(Unauthorized) as wrong_password:
        login(app, "alice", WRONG, code)  # the code does not help a wrong password
    assert not isinstance(wrong_password.value, SecondFactorRequired)
    assert login(app, "alice", code=code).name == "alice"

    with pytest.raises(Unauthorized) as replayed:
        login(app, "alice", code=code)  # the same code, the same step: refused
    assert not isinstance(replayed.value, SecondFactorRequired)
    assert audit(app, admin, action="login.failed", target="alice")[0].details["reason"] == (
        "wrong or reused one-time code"
    )
    step = int(clock.now().timestamp()) // totp.STEP_SECONDS
    with pytest.raises(Unauthorized):
        login(app, "alice", code=totp.code_at(secret, step - 1))  # in the window, but older than the last used

    with pytest.raises(Unauthorized):
        login(app, "alice", code=wrong_codes(secret, clock, 1)[0])

    clock.advance(dt.timedelta(seconds=totp.STEP_SECONDS))
    assert login(app, "alice", code=current_code(secret, clock)).name == "alice"


def test_wrong_codes_count_towards_lockout(app: wiring.Application, admin: Principal, clock: FixedClock) -> None:
    add_user(app, admin, "alice")
    secret = totp_secret(app.accounts.enrol_totp(admin, "alice").uri)
    for code in wrong_codes(secret, clock, 5):
        with pytest.raises(Unauthorized):
            login(app, "alice", code=code)
    assert app.accounts.get_user(admin, "alice").locked_until is not None
    with pytest.raises(Unauthorized):
        login(app, "alice", code=current_code(secret, clock))  # locked: even the right code


def test_only_user_managers_enrol_or_remove_another_users_totp(app: wiring.Application, admin: Principal) -> None:
    add_user(app, admin, "alice")
    add_user(app, admin, "bob")
    bob = login(app, "bob")
    with pytest.raises(Forbidden):
        app.accounts.enrol_totp(bob, "alice")
    with pytest.raises(Forbidden):
        app.accounts.remove_totp(bob, "bob")
    app.accounts.enrol_totp(admin, "alice")
    app.accounts.remove_totp(admin, "alice")
    assert login(app, "alice").name == "alice"  # no code needed any more


def test_users_set_up_their_own_second_factor_once_and_cannot_replace_it(
    app: wiring.Application, admin: Principal
) -> None:
    add_user(app, admin, "alice")
    alice = login(app, "alice")
    app.accounts.enrol_totp(alice, "alice")
    with pytest.raises(Forbidden):  # a stolen session cannot swap in the thief's authenticator
        app.accounts.enrol_totp(alice, "alice")
    assert len(audit(app, admin, action="user.totp-enrolled")) == 1


# -- disabling -----------------------------------------------------------------------------------


def test_disabled_user_is_refused_and_its_tokens_stop_working(app: wiring.Application, admin: Principal) -> None:
    add_user(app, admin, "alice")
    token = app.tokens.create_for_user(admin, "alice", "laptop").token
    assert app.tokens.authenticate(token).name == "alice"

    app.accounts.set_disabled(admin, "alice", True)
    with pytest.raises(Unauthorized):
        login(app, "alice")
    assert audit(app, admin, action="login.failed", target="alice")[0].details["reason"] == "user disabled"
    with pytest.raises(Unauthorized):
        app.tokens.authenticate(token)
    with pytest.raises(NotFound):
        app.tokens.create_for_user(admin, "alice", "another")
    assert [e.actor for e in audit(app, admin, action="user.disabled", target="alice")] == [admin.name]

    app.accounts.set_disabled(admin, "alice", False)
    assert login(app, "alice").name == "alice"
    assert app.tokens.authenticate(token).name == "alice"


def test_nobody_disables_themselves_and_only_user_managers_disable_others(
    app: wiring.Application, admin: Principal
) -> None:
    add_user(app, admin, "boss", NewGrant(Role.ADMINISTRATOR))
    add_user(app, admin, "bob")
    boss, bob = login(app, "boss"), login(app, "bob")
    with pytest.raises(Conflict):
        app.accounts.set_disabled(boss, "boss", True)
    with pytest.raises(Forbidden):
        app.accounts.set_disabled(bob, "boss", True)
    app.accounts.set_disabled(boss, "bob", True)
    assert app.accounts.get_user(admin, "bob").disabled


# -- tokens --------------------------------------------------------------------------------------


def test_expired_token_is_refused(app: wiring.Application, admin: Principal, clock: FixedClock) -> None:
    add_user(app, admin, "alice")
    new = app.tokens.create_for_user(admin, "alice", "ci", expires_in=dt.timedelta(hours=1))
    assert new.record.expires_at == clock.now() + dt.timedelta(hours=1)
    assert app.tokens.authenticate(new.token).name == "alice"  # now remembered for a few seconds
    clock.advance(dt.timedelta(minutes=59, seconds=59))
    assert app.tokens.authenticate(new.token).name == "alice"
    clock.advance(dt.timedelta(seconds=1))
    with pytest.raises(Unauthorized):
        app.tokens.authenticate(new.token)  # even though it was just cached
    with pytest.raises(Malformed):
        app.tokens.create_for_user(admin, "alice", "ci", expires_in=dt.timedelta(0))


def test_revoked_token_is_refused_at_once(app: wiring.Application, admin: Principal) -> None:
    add_user(app, admin, "alice")
    alice = login(app, "alice")
    new = app.tokens.create_for_user(alice, "alice", "mine")  # users make their own
    assert app.tokens.authenticate(new.token).name == "alice"
    app.tokens.revoke(alice, new.record.token_id)  # and revoke their own
    with pytest.raises(Unauthorized):
        app.tokens.authenticate(new.token)
    with pytest.raises(NotFound):
        app.tokens.revoke(admin, new.record.token_id)
    assert [e.target for e in audit(app, admin, action="token.revoked")] == [new.record.token_id]


def test_users_manage_only_their_own_tokens(app: wiring.Application, admin: Principal) -> None:
    add_user(app, admin, "alice")
    add_user(app, admin, "bob")
    alice, bob = login(app, "alice"), login(app, "bob")
    with pytest.raises(Forbidden):
        app.tokens.create_for_user(bob, "alice", "stolen")
    mine = app.tokens.create_for_user(alice, "alice", "mine")
    with pytest.raises(Forbidden):
        app.tokens.revoke(bob, mine.record.token_id)
    with pytest.raises(Forbidden):
        app.tokens.list(bob)
    with pytest.raises(Forbidden):
        app.tokens.create(bob, "automation", frozenset({Role.RA_OFFICER}))
    assert app.tokens.authenticate(mine.token).name == "alice"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), id="fail/wrong-secret"),
        pytest.param(lambda t: t.replace("chy_", "chx_"), id="fail/prefix"),
        pytest.param(lambda t: t[:-1], id="fail/truncated"),
        pytest.param(lambda t: "chy_0123456789abcdef_" + t.split("_", 2)[2], id="fail/unknown-id"),
        pytest.param(lambda t: "", id="fail/empty"),
    ],
)
def test_tampered_tokens_are_refused(app: wiring.Application, admin: Principal, tamper: object) -> None:
    add_user(app, admin, "alice")
    token = app.tokens.create_for_user(admin, "alice", "ci").token
    app.tokens.authenticate(token)  # cached: a wrong secret must still be refused
    with pytest.raises(Unauthorized):
        app.tokens.authenticate(tamper(token))  # type: ignore[operator]


def test_tokens_are_stored_as_hashes(app: wiring.Application, admin: Principal) -> None:
    add_user(app, admin, "alice")
    made = [
        app.tokens.create_for_user(admin, "alice", "laptop"),
        app.tokens.create(admin, "automation", frozenset({Role.AUDITOR})),
        app.tokens.create_for_login(app.authenticator.password_login("alice", PASSWORD)),
    ]
    with app.database.engine.connect() as conn:
        rows = conn.execute(select(api_tokens)).mappings().all()
    stored = "\n".join(str(value) for row in rows for value in row.values())
    for new in made:
        _, token_id, secret = new.token.split("_", 2)
        assert len(secret) == 43  # 256 bits
        assert secret not in stored and new.token not in stored
        [row] = [r for r in rows if r["token_id"] == token_id]
        assert row["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
        assert app.tokens.authenticate(new.token).name in {"alice", "token:automation"}
    audited = "\n".join(e.details_json for e in audit(app, admin, action="token."))
    assert all(new.token.split("_", 2)[2] not in audited for new in made)


def test_login_token_lasts_eight_hours(app: wiring.Application, admin: Principal, clock: FixedClock) -> None:
    add_user(app, admin, "alice", NewGrant(Role.AUDITOR))
    new = app.tokens.create_for_login(app.authenticator.password_login("alice", PASSWORD))
    assert new.record.expires_at == clock.now() + dt.timedelta(hours=8)
    principal = app.tokens.authenticate(new.token)
    assert principal.kind == "token" and principal.all_grants == {Grant(Role.AUDITOR)}
    clock.advance(dt.timedelta(hours=8))
    with pytest.raises(Unauthorized):
        app.tokens.authenticate(new.token)


def test_user_tokens_expire_after_ninety_days_unless_told(
    app: wiring.Application, admin: Principal, clock: FixedClock
) -> None:
    add_user(app, admin, "alice")
    alice = login(app, "alice")
    made = app.tokens.create_for_user(alice, "alice", "laptop")
    assert made.record.expires_at == clock.now() + dt.timedelta(days=90)
    longer = app.tokens.create_for_user(admin, "alice", "ci", expires_in=dt.timedelta(days=365))
    assert longer.record.expires_at == clock.now() + dt.timedelta(days=365)
    with pytest.raises(Malformed):
        app.tokens.create_for_user(admin, "alice", "forever", expires_in=dt.timedelta(days=3661))


def test_a_users_token_acts_with_the_users_grants_as_they_are_now(
    app: wiring.Application, admin: Principal, cas: tuple[str, str]
) -> None:
    add_user(app, admin, "alice")
    token = app.tokens.create_for_user(admin, "alice", "ci").token
    with pytest.raises(Forbidden):
        issue(app, app.tokens.authenticate(token), "issuing-1")

    grant = app.accounts.grant(admin, NewGrant(Role.RA_OFFICER, user="alice", ca="issuing-1"))
    issue(app, app.tokens.authenticate(token), "issuing-1")  # at once, on this node

    app.accounts.revoke_grant(admin, grant.grant_id)
    with pytest.raises(Forbidden):
        issue(app, app.tokens.authenticate(token), "issuing-1")


def test_token_limited_to_one_ca_is_refused_on_another(
    app: wiring.Application, admin: Principal, cas: tuple[str, str]
) -> None:
    add_user(app, admin, "alice", NewGrant(Role.RA_OFFICER))  # an RA officer on every CA...
    token = app.tokens.create_for_user(admin, "alice", "ci", ca="issuing-1")  # ...through a token for one
    principal = app.tokens.authenticate(token.token)
    assert principal.all_grants == {Grant(Role.RA_OFFICER, ca="issuing-1")}
    issued = issue(app, principal, "issuing-1")
    revoke(app, principal, issued)
    before = count_certificates(app, admin, "issuing-2")
    with pytest.raises(Forbidden):
        issue(app, principal, "issuing-2")
    other = issue(app, admin, "issuing-2")
    with pytest.raises(Forbidden):
        revoke(app, principal, other)
    with pytest.raises(Forbidden):
        app.certificates.get(principal, "issuing-2", other.record.serial)
    assert state(app, admin, other) is CertificateState.ISSUED
    assert count_certificates(app, admin, "issuing-2") == before + 1  # only the administrator's

    # A service token with roles of its own is limited the same way.
    service = app.tokens.create(admin, "robot", frozenset({Role.RA_OFFICER}), ca="issuing-2")
    robot = app.tokens.authenticate(service.token)
    issue(app, robot, "issuing-2")
    with pytest.raises(Forbidden):
        issue(app, robot, "issuing-1")

    # A token for one CA never widens a grant held on another.
    add_user(app, admin, "bob", NewGrant(Role.RA_OFFICER, ca="issuing-1"))
    bob = app.tokens.authenticate(app.tokens.create_for_user(admin, "bob", "ci", ca="issuing-2").token)
    assert bob.all_grants == frozenset()
    for ca in cas:
        with pytest.raises(Forbidden):
            issue(app, bob, ca)


# -- the acceptance test: scoped roles, checked in the services ----------------------------------


@pytest.mark.parametrize("through", ["user", "group"])
def test_ra_officer_on_one_ca_acts_there_and_is_refused_on_the_other(
    app: wiring.Application, admin: Principal, cas: tuple[str, str], through: str
) -> None:
    if through == "user":
        add_user(app, admin, "officer", NewGrant(Role.RA_OFFICER, ca="issuing-1"))
    else:
        add_user(app, admin, "officer")
        app.accounts.add_group(admin, "ra-east")
        app.accounts.set_membership(admin, "ra-east", "officer", True)
        app.accounts.grant(admin, NewGrant(Role.RA_OFFICER, group="ra-east", ca="issuing-1"))
    officer = app.authenticator.password_login("officer", PASSWORD).principal
    assert officer.all_grants == {Grant(Role.RA_OFFICER, ca="issuing-1")}

    # On issuing-1: issue, read, revoke (the RA officer's work).
    issued = issue(app, officer, "issuing-1")
    assert issued.record.ca_name == "issuing-1"
    assert app.certificates.get(officer, "issuing-1", issued.record.serial).serial == issued.record.serial
    found = app.certificates.search(officer, CertificateFilter(ca_name="issuing-1"), PageRequest(limit=10))
    assert [r.serial for r in found.items] == [issued.record.serial]
    revoke(app, officer, issued)
    assert state(app, admin, issued) is CertificateState.REVOKED
    [revoked] = audit(app, admin, action="certificate.revoked", ca="issuing-1")
    assert revoked.actor == "officer"

    # On issuing-2: refused by the service itself, and nothing recorded.
    other = issue(app, admin, "issuing-2")
    with pytest.raises(Forbidden) as refused:
        issue(app, officer, "issuing-2")
    assert refused.value.detail == "officer may not certificate:issue on CA issuing-2 under profile tls-server"
    with pytest.raises(Forbidden):
        revoke(app, officer, other)
    with pytest.raises(Forbidden):
        app.certificates.get(officer, "issuing-2", other.record.serial)
    with pytest.raises(Forbidden):
        app.certificates.search(officer, CertificateFilter(ca_name="issuing-2"), PageRequest(limit=10))
    with pytest.raises(Forbidden):
        app.certificates.search(officer, CertificateFilter(), PageRequest(limit=10))  # "every CA" is not issuing-1
    assert count_certificates(app, admin, "issuing-2") == 1
    assert state(app, admin, other) is CertificateState.ISSUED
    assert not audit(app, admin, action="certificate.revoked", ca="issuing-2")

    # Not an RA officer's work even on issuing-1: keys for export, CAs, users, audit.
    with pytest.raises(Forbidden):
        app.issuance.issue_with_new_key(
            officer,
            IssueWithNewKey("issuing-1", "tls-server", "CN=www.example.com", KeyType.EC_P256, "pkcs12 password"),
        )
    with pytest.raises(Forbidden):
        app.hierarchy.create_intermediate(
            officer, NewCA("issuing-3", "CN=Test issuing-3", KeyType.EC_P256, parent="root")
        )
    with pytest.raises(Forbidden):
        app.accounts.grant(officer, NewGrant(Role.RA_OFFICER, user="officer", ca="issuing-2"))
    with pytest.raises(Forbidden):
        app.audit.search(officer, AuditFilter())


def test_leaving_the_group_takes_its_role_away(app: wiring.Application, admin: Principal, cas: tuple[str, str]) -> None:
    add_user(app, admin, "officer")
    app.accounts.add_group(admin, "ra-east")
    app.accounts.set_membership(admin, "ra-east", "officer", True)
    app.accounts.grant(admin, NewGrant(Role.RA_OFFICER, group="ra-east", ca="issuing-1"))
    issue(app, login(app, "officer"), "issuing-1")
    app.accounts.set_membership(admin, "ra-east", "officer", False)
    with pytest.raises(Forbidden):
        issue(app, login(app, "officer"), "issuing-1")
    with pytest.raises(Conflict):
        app.accounts.set_membership(admin, "ra-east", "officer", False)


def test_role_scoped_to_a_profile(app: wiring.Application, admin: Principal, cas: tuple[str, str]) -> None:
    add_user(app, admin, "webmaster", NewGrant(Role.RA_OFFICER, profile="tls-server"))
    webmaster = login(app, "webmaster")
    servers = [issue(app, webmaster, ca, "tls-server") for ca in cas]  # that profile, on any CA
    revoke(app, webmaster, servers[0])

    with pytest.raises(Forbidden) as refused:
        issue(app, webmaster, "issuing-1", "tls-client", cn="alice")
    assert "under profile tls-client" in refused.value.detail
    client = issue(app, admin, "issuing-1", "tls-client", cn="alice")
    with pytest.raises(Forbidden):
        revoke(app, webmaster, client)
    assert state(app, admin, client) is CertificateState.ISSUED
    assert state(app, admin, servers[1]) is CertificateState.ISSUED

    # Reading follows the same scope: its profile's certificates, searched with that profile.
    assert app.certificates.get(webmaster, "issuing-2", servers[1].record.serial).profile == "tls-server"
    with pytest.raises(Forbidden):
        app.certificates.get(webmaster, "issuing-1", client.record.serial)
    mine = app.certificates.search(webmaster, CertificateFilter(profile="tls-server"), PageRequest())
    assert {r.serial for r in mine.items} == {i.record.serial for i in servers}
    with pytest.raises(Forbidden):
        app.certificates.search(webmaster, CertificateFilter(ca_name="issuing-1"), PageRequest())

    # A profile and a CA together: both must match.
    add_user(app, admin, "narrow", NewGrant(Role.RA_OFFICER, ca="issuing-2", profile="tls-client"))
    narrow = login(app, "narrow")
    issue(app, narrow, "issuing-2", "tls-client", cn="bob")
    for ca, profile, cn in (("issuing-1", "tls-client", "carol"), ("issuing-2", "tls-server", "www.example.net")):
        with pytest.raises(Forbidden):
            issue(app, narrow, ca, profile, cn=cn)


def test_auditor_reads_everything_and_changes_nothing(
    app: wiring.Application, admin: Principal, cas: tuple[str, str]
) -> None:
    add_user(app, admin, "auditor", NewGrant(Role.AUDITOR))
    add_user(app, admin, "bob")
    issued = issue(app, admin, "issuing-1")
    auditor = login(app, "auditor")

    # Reads: the audit log, certificates on every CA, CAs, users, grants, policies.
    assert audit(app, auditor, action="certificate.issued", ca="issuing-1")
    assert app.audit.verify(auditor).intact
    assert app.certificates.search(auditor, CertificateFilter(), PageRequest(limit=10)).items
    assert app.certificates.get(auditor, "issuing-1", issued.record.serial).serial == issued.record.serial
    assert {ca.name for ca in app.hierarchy.list(auditor)} >= {"root", *cas}
    assert {u.name for u in app.accounts.list_users(auditor)} >= {"auditor", "bob"}
    assert app.accounts.list_grants(auditor)
    assert app.policies.current(auditor)[LOCKOUT_THRESHOLD_POLICY] == 5

    grants_before = app.accounts.list_grants(admin)
    refused = {
        "issue": lambda: issue(app, auditor, "issuing-1"),
        "revoke": lambda: revoke(app, auditor, issued),
        "grant": lambda: app.accounts.grant(auditor, NewGrant(Role.ADMINISTRATOR, user="auditor")),
        "revoke-grant": lambda: app.accounts.revoke_grant(auditor, grants_before[0].grant_id),
        "add-user": lambda: app.accounts.add_user(auditor, "mallory", PASSWORD),
        "disable": lambda: app.accounts.set_disabled(auditor, "bob", True),
        "unlock": lambda: app.accounts.unlock(auditor, "bob"),
        "password": lambda: app.accounts.set_password(auditor, "bob", "a brand new passphrase"),
        "map-certificate": lambda: app.accounts.set_certificate_match(auditor, "bob", "subject:CN=bob"),
        "service-token": lambda: app.tokens.create(auditor, "robot", frozenset({Role.AUDITOR})),
        "user-token": lambda: app.tokens.create_for_user(auditor, "bob", "stolen"),
        "policy": lambda: app.policies.set(auditor, LOCKOUT_THRESHOLD_POLICY, 3),
        "create-ca": lambda: app.hierarchy.create_intermediate(
            auditor, NewCA("issuing-3", "CN=Test issuing-3", KeyType.EC_P256, parent="root")
        ),
        "approvals": lambda: app.dual_control.list(auditor),
    }
    for action, attempt in refused.items():
        with pytest.raises(Forbidden):
            attempt()
            pytest.fail(f"the auditor could {action}")
    assert app.accounts.list_grants(admin) == grants_before
    assert state(app, admin, issued) is CertificateState.ISSUED
    assert not app.accounts.get_user(admin, "bob").disabled


def test_grants_are_validated_and_audited(app: wiring.Application, admin: Principal) -> None:
    add_user(app, admin, "alice")
    app.accounts.add_group(admin, "ops")
    record = app.accounts.grant(admin, NewGrant(Role.CA_OPERATOR, user="alice", ca="issuing-1"))
    assert record.grant == Grant(Role.CA_OPERATOR, ca="issuing-1") and record.created_by == admin.name
    [granted] = audit(app, admin, action="role.granted", target="user:alice")
    assert granted.details == {
        "role": "ca-operator",
        "ca": "issuing-1",
        "profile": None,
        "ra": None,
        "grant": record.grant_id,
    }
    with pytest.raises(Conflict):
        app.accounts.grant(admin, NewGrant(Role.CA_OPERATOR, user="alice", ca="issuing-1"))
    with pytest.raises(NotFound):
        app.accounts.grant(admin, NewGrant(Role.AUDITOR, user="nobody"))
    with pytest.raises(NotFound):
        app.accounts.grant(admin, NewGrant(Role.AUDITOR, group="nobody"))
    with pytest.raises(Malformed):
        app.accounts.grant(admin, NewGrant(Role.AUDITOR, user="alice", group="ops"))
    with pytest.raises(Malformed):
        app.accounts.grant(admin, NewGrant(Role.AUDITOR))
    with pytest.raises(Malformed):
        app.accounts.grant(admin, NewGrant(Role.AUDITOR, user="alice", ca="Not A CA Name!"))
    assert login(app, "alice").all_grants == {Grant(Role.CA_OPERATOR, ca="issuing-1")}

    app.accounts.revoke_grant(admin, record.grant_id)
    assert login(app, "alice").all_grants == frozenset()
    assert audit(app, admin, action="role.revoked", target="user:alice")[0].details == {
        "grant": "ca-operator@issuing-1"
    }
    with pytest.raises(NotFound):
        app.accounts.revoke_grant(admin, record.grant_id)


def test_granting_a_role_waits_for_another_administrators_approval(app: wiring.Application, admin: Principal) -> None:
    add_user(app, admin, "alice")
    add_user(app, admin, "second", NewGrant(Role.ADMINISTRATOR))
    app.policies.set(admin, APPROVALS_POLICY, 1)
    with pytest.raises(ApprovalRequired) as pending:
        app.accounts.grant(admin, NewGrant(Role.ADMINISTRATOR, user="alice"))
    operation_id = pending.value.sub_errors[0].detail
    assert login(app, "alice").all_grants == frozenset()  # not yet
    with pytest.raises(Forbidden):
        app.dual_control.approve(admin, operation_id)  # not by the requester
    with pytest.raises(Forbidden):
        app.dual_control.approve(login(app, "alice"), operation_id)  # not by a non-administrator
    done = app.dual_control.approve(login(app, "second"), operation_id)
    assert done.state is OperationState.EXECUTED
    assert login(app, "alice").all_grants == {Grant(Role.ADMINISTRATOR)}


# -- client certificates -------------------------------------------------------------------------


def client_certificate(app: wiring.Application, admin: Principal, cn: str) -> x509.Certificate:
    return issue(app, admin, "issuing-1", "tls-client", cn=cn).certificate


def test_certificate_login_maps_a_certificate_to_its_user(
    app: wiring.Application, admin: Principal, cas: tuple[str, str]
) -> None:
    add_user(app, admin, "alice", NewGrant(Role.AUDITOR))
    add_user(app, admin, "bob")
    alice_cert = client_certificate(app, admin, "alice")
    bob_cert = client_certificate(app, admin, "bob")
    app.accounts.set_certificate_match(admin, "alice", f"subject:{alice_cert.subject.rfc4514_string()}")
    app.accounts.set_certificate_match(admin, "bob", "san:email:bob@example.com")

    by_subject = app.authenticator.certificate_login(alice_cert, source="192.0.2.7")
    assert by_subject.user.name == "alice"
    assert by_subject.principal.all_grants == {Grant(Role.AUDITOR)}
    [entry] = audit(app, admin, action="login.succeeded", target="alice")
    assert entry.details == {
        "method": "certificate",
        "source": "192.0.2.7",
        "certificate_serial": format(alice_cert.serial_number, "x"),
    }
    assert app.authenticator.certificate_login(bob_cert).user.name == "bob"  # by subjectAltName

    stranger = client_certificate(app, admin, "carol")
    with pytest.raises(Unauthorized):
        app.authenticator.certificate_login(stranger)
    [refused] = audit(app, admin, action="login.failed", target="CN=carol")
    assert refused.details["reason"] == "certificate matches no user"

    app.accounts.set_disabled(admin, "bob", True)
    with pytest.raises(Unauthorized):
        app.authenticator.certificate_login(bob_cert)

    app.accounts.set_certificate_match(admin, "alice", None)
    with pytest.raises(Unauthorized):
        app.authenticator.certificate_login(alice_cert)
    for bad in ("CN=alice", "issuer:CN=x", "subject:" + "x" * 1000):
        with pytest.raises(Malformed):
            app.accounts.set_certificate_match(admin, "alice", bad)


def test_certificate_principal_is_remembered_for_a_few_seconds(
    app: wiring.Application, admin: Principal, cas: tuple[str, str]
) -> None:
    add_user(app, admin, "alice", NewGrant(Role.AUDITOR))
    certificate = client_certificate(app, admin, "alice")
    app.accounts.set_certificate_match(admin, "alice", "subject:CN=alice")
    first = app.authenticator.certificate_principal(certificate)
    second = app.authenticator.certificate_principal(certificate)
    assert first == second == Principal("alice", grants=frozenset({Grant(Role.AUDITOR)}), kind="user")
    assert len(audit(app, admin, action="login.succeeded", target="alice")) == 1

    app.accounts.set_disabled(admin, "alice", True)  # a change on this node takes effect at once
    with pytest.raises(Unauthorized):
        app.authenticator.certificate_principal(certificate)


# -- portal sessions -----------------------------------------------------------------------------


def test_session_cookie_and_csrf_token(app: wiring.Application, admin: Principal, clock: FixedClock) -> None:
    add_user(app, admin, "alice", NewGrant(Role.AUDITOR))
    add_user(app, admin, "bob")
    new = app.sessions.start(app.authenticator.password_login("alice", PASSWORD))
    other = app.sessions.start(app.authenticator.password_login("bob", PASSWORD))
    assert new.expires_at == clock.now() + ABSOLUTE_TIMEOUT
    session = app.sessions.resume(new.cookie)
    assert session.principal.name == "alice" and session.principal.all_grants == {Grant(Role.AUDITOR)}

    app.sessions.check_csrf(session, new.csrf_token)
    for wrong in (None, "", other.csrf_token, new.cookie, new.csrf_token[:-1], new.csrf_token + "x"):
        with pytest.raises(Forbidden):
            app.sessions.check_csrf(session, wrong)
    for wrong_cookie in ("", "x" * 101, other.cookie[:-1], new.csrf_token):
        with pytest.raises(Unauthorized):
            app.sessions.resume(wrong_cookie)

    with app.database.engine.connect() as conn:
        rows = conn.execute(select(sessions)).mappings().all()
    stored = "\n".join(str(value) for row in rows for value in row.values())
    for secret in (new.cookie, new.csrf_token, other.cookie, other.csrf_token):
        assert secret not in stored
    assert {row["session_hash"] for row in rows} == {
        hashlib.sha256(c.encode()).hexdigest() for c in (new.cookie, other.cookie)
    }

    app.sessions.end(new.cookie)
    with pytest.raises(Unauthorized):
        app.sessions.resume(new.cookie)
    assert app.sessions.resume(other.cookie).principal.name == "bob"
    assert audit(app, admin, action="session.ended", target="alice")[0].details == {"reason": "logout"}


def test_session_sees_the_users_roles_as_they_are_now(app: wiring.Application, admin: Principal) -> None:
    add_user(app, admin, "alice")
    new = app.sessions.start(app.authenticator.password_login("alice", PASSWORD))
    assert app.sessions.resume(new.cookie).principal.all_grants == frozenset()
    app.accounts.grant(admin, NewGrant(Role.AUDITOR, user="alice"))
    assert app.sessions.resume(new.cookie).principal.all_grants == {Grant(Role.AUDITOR)}


def test_session_idle_timeout(app: wiring.Application, admin: Principal, clock: FixedClock) -> None:
    add_user(app, admin, "alice")
    new = app.sessions.start(app.authenticator.password_login("alice", PASSWORD))
    # Activity keeps it alive: 3 x 20 minutes is more than the idle limit, but never idle that long.
    for _ in range(3):
        clock.advance(IDLE_TIMEOUT - dt.timedelta(minutes=10))
        app.sessions.resume(new.cookie)
    clock.advance(IDLE_TIMEOUT - dt.timedelta(seconds=1))
    app.sessions.resume(new.cookie)
    clock.advance(IDLE_TIMEOUT)
    with pytest.raises(Unauthorized):
        app.sessions.resume(new.cookie)
    assert audit(app, admin, action="session.ended", target="alice")[0].details == {"reason": "timeout"}
    clock.advance(-IDLE_TIMEOUT)  # ended for good, even if the clock went back
    with pytest.raises(Unauthorized):
        app.sessions.resume(new.cookie)


def test_session_absolute_timeout(app: wiring.Application, admin: Principal, clock: FixedClock) -> None:
    add_user(app, admin, "alice")
    new = app.sessions.start(app.authenticator.password_login("alice", PASSWORD))
    step = IDLE_TIMEOUT - dt.timedelta(minutes=1)
    elapsed = dt.timedelta(0)
    while elapsed + step < ABSOLUTE_TIMEOUT:
        clock.advance(step)
        elapsed += step
        app.sessions.resume(new.cookie)  # busy all day
    clock.advance(ABSOLUTE_TIMEOUT - elapsed - dt.timedelta(seconds=1))
    app.sessions.resume(new.cookie)
    clock.advance(dt.timedelta(seconds=1))  # twelve hours after it started, however busy
    with pytest.raises(Unauthorized):
        app.sessions.resume(new.cookie)


def test_disabling_a_user_ends_its_sessions(app: wiring.Application, admin: Principal) -> None:
    add_user(app, admin, "alice")
    new = app.sessions.start(app.authenticator.password_login("alice", PASSWORD))
    app.accounts.set_disabled(admin, "alice", True)
    with pytest.raises(Unauthorized):
        app.sessions.resume(new.cookie)
    app.accounts.set_disabled(admin, "alice", False)
    with pytest.raises(Unauthorized):
        app.sessions.resume(new.cookie)  # re-enabling does not bring the old session back
    with app.database.engine.connect() as conn:
        assert conn.execute(select(sessions.c.ended_at)).scalar_one() is not None
        assert conn.execute(select(users.c.disabled).where(users.c.name == "alice")).scalar_one() is False


def test_every_service_check_uses_the_principal_not_the_route(app: wiring.Application, admin: Principal) -> None:
    """The services refuse a principal without the permission, whoever calls them."""
    add_user(app, admin, "requester", NewGrant(Role.REQUESTER))
    requester = login(app, "requester")
    assert requester.all_grants == {Grant(Role.REQUESTER)}
    for permission_check in (
        lambda: app.accounts.list_users(requester),
        lambda: app.accounts.list_groups(requester),
        lambda: app.accounts.get_user(requester, "admin"),
        lambda: app.hierarchy.list(requester),
        lambda: app.certificates.search(requester, CertificateFilter(), PageRequest(limit=1)),
        lambda: app.audit.search(requester, AuditFilter()),
        lambda: app.policies.current(requester),
    ):
        with pytest.raises(Forbidden):
            permission_check()
    assert app.accounts.get_user(requester, "requester").name == "requester"  # but may read itself
