"""Roles, scoped grants and the authorisation check every service makes."""

from __future__ import annotations

import pytest

from chancery.domain.permissions import Permission
from chancery.domain.principals import SYSTEM, Grant, Principal, Role, local_operator
from chancery.errors import Forbidden
from chancery.services.authorization import ROLE_PERMISSIONS, allows, permitted_cas, require, require_on_ca

READS = frozenset({Permission.CA_READ, Permission.CERT_READ, Permission.PROFILE_READ})
WRITES = frozenset(Permission) - READS - {Permission.AUDIT_READ, Permission.USER_READ, Permission.REQUEST_READ}
RA_WORK = frozenset({Permission.REQUEST_SUBMIT, Permission.REQUEST_READ, Permission.REQUEST_APPROVE})
EXPECTED = {
    Role.ADMINISTRATOR: frozenset(Permission),
    Role.CA_OPERATOR: READS
    | RA_WORK
    | {
        Permission.CA_MANAGE,
        Permission.CERT_ISSUE,
        Permission.CERT_REVOKE,
        Permission.PROFILE_MANAGE,
        Permission.RA_MANAGE,
        Permission.ACME_MANAGE,
    },
    Role.RA_OFFICER: READS | RA_WORK | {Permission.CERT_ISSUE, Permission.CERT_REVOKE},
    Role.AUDITOR: READS | {Permission.AUDIT_READ, Permission.USER_READ, Permission.REQUEST_READ},
    Role.REQUESTER: frozenset({Permission.REQUEST_SUBMIT}),
}
# Scopes an action may name: (ca, profile, ra).
SCOPES = [
    (None, None, None),
    ("issuing-1", None, None),
    ("issuing-2", None, None),
    ("issuing-1", "tls-server", None),
    ("issuing-1", "tls-client", None),
    ("issuing-2", "tls-server", None),
    (None, "tls-server", None),
    ("issuing-1", "tls-server", "ra-east"),
    ("issuing-1", None, "ra-west"),
]


def who(*grants: Grant, roles: frozenset[Role] = frozenset()) -> Principal:
    return Principal("alice", roles=roles, grants=frozenset(grants))


# -- Grant.covers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grant", "scope", "covered"),
    [
        pytest.param(Grant(Role.RA_OFFICER), (None, None, None), True, id="ok/unscoped-covers-everything"),
        pytest.param(Grant(Role.RA_OFFICER), ("issuing-2", "tls-client", "ra-x"), True, id="ok/unscoped-covers-any"),
        pytest.param(Grant(Role.RA_OFFICER, ca="issuing-1"), ("issuing-1", None, None), True, id="ok/same-ca"),
        pytest.param(
            Grant(Role.RA_OFFICER, ca="issuing-1"), ("issuing-1", "tls-server", None), True, id="ok/same-ca-any-profile"
        ),
        pytest.param(Grant(Role.RA_OFFICER, ca="issuing-1"), ("issuing-2", None, None), False, id="fail/other-ca"),
        pytest.param(Grant(Role.RA_OFFICER, ca="issuing-1"), (None, None, None), False, id="fail/every-ca"),
        pytest.param(Grant(Role.RA_OFFICER, ca="issuing-1"), ("ISSUING-1", None, None), False, id="fail/case"),
        pytest.param(
            Grant(Role.RA_OFFICER, profile="tls-server"),
            ("issuing-2", "tls-server", None),
            True,
            id="ok/profile-any-ca",
        ),
        pytest.param(
            Grant(Role.RA_OFFICER, profile="tls-server"),
            ("issuing-1", "tls-client", None),
            False,
            id="fail/other-profile",
        ),
        pytest.param(
            Grant(Role.RA_OFFICER, profile="tls-server"), ("issuing-1", None, None), False, id="fail/profile-unnamed"
        ),
        pytest.param(
            Grant(Role.RA_OFFICER, ca="issuing-1", profile="tls-server"),
            ("issuing-1", "tls-server", None),
            True,
            id="ok/ca-and-profile",
        ),
        pytest.param(
            Grant(Role.RA_OFFICER, ca="issuing-1", profile="tls-server"),
            ("issuing-2", "tls-server", None),
            False,
            id="fail/ca-and-profile-other-ca",
        ),
        pytest.param(
            Grant(Role.RA_OFFICER, ca="issuing-1", profile="tls-server"),
            ("issuing-1", "tls-client", None),
            False,
            id="fail/ca-and-profile-other-profile",
        ),
        pytest.param(Grant(Role.RA_OFFICER, ra="ra-east"), ("issuing-1", None, "ra-east"), True, id="ok/same-ra"),
        pytest.param(Grant(Role.RA_OFFICER, ra="ra-east"), ("issuing-1", None, "ra-west"), False, id="fail/other-ra"),
        pytest.param(Grant(Role.RA_OFFICER, ra="ra-east"), ("issuing-1", None, None), False, id="fail/ra-unnamed"),
    ],
)
def test_covers(grant: Grant, scope: tuple[str | None, str | None, str | None], covered: bool) -> None:
    assert grant.covers(*scope) is covered


def test_scoped() -> None:
    assert not Grant(Role.AUDITOR).scoped
    assert Grant(Role.AUDITOR, ca="x").scoped
    assert Grant(Role.AUDITOR, profile="x").scoped
    assert Grant(Role.AUDITOR, ra="x").scoped


def test_str_names_role_and_scope() -> None:
    assert str(Grant(Role.RA_OFFICER)) == "ra-officer"
    assert str(Grant(Role.RA_OFFICER, ca="issuing-1")) == "ra-officer@issuing-1"
    assert (
        str(Grant(Role.CA_OPERATOR, "issuing-1", "tls-server", "ra-east"))
        == "ca-operator@issuing-1/profile=tls-server/ra=ra-east"
    )


# -- Grant.narrowed_to: a credential limited to one CA ------------------------------------------


@pytest.mark.parametrize(
    ("grant", "ca", "narrowed"),
    [
        pytest.param(Grant(Role.RA_OFFICER), None, Grant(Role.RA_OFFICER), id="ok/no-limit"),
        pytest.param(
            Grant(Role.RA_OFFICER, ca="issuing-1"),
            None,
            Grant(Role.RA_OFFICER, ca="issuing-1"),
            id="ok/no-limit-scoped",
        ),
        pytest.param(Grant(Role.RA_OFFICER), "issuing-1", Grant(Role.RA_OFFICER, ca="issuing-1"), id="ok/everywhere"),
        pytest.param(
            Grant(Role.RA_OFFICER, profile="tls-server"),
            "issuing-1",
            Grant(Role.RA_OFFICER, ca="issuing-1", profile="tls-server"),
            id="ok/keeps-profile",
        ),
        pytest.param(
            Grant(Role.RA_OFFICER, ca="issuing-1", ra="ra-east"),
            "issuing-1",
            Grant(Role.RA_OFFICER, ca="issuing-1", ra="ra-east"),
            id="ok/same-ca",
        ),
        pytest.param(Grant(Role.RA_OFFICER, ca="issuing-2"), "issuing-1", None, id="fail/other-ca-dropped"),
    ],
)
def test_narrowed_to(grant: Grant, ca: str | None, narrowed: Grant | None) -> None:
    assert grant.narrowed_to(ca) == narrowed


def test_narrowing_never_widens() -> None:
    """Whatever a narrowed grant covers, the original covered too, and only on the named CA."""
    grants = [
        Grant(role, ca, profile, ra)
        for role in Role
        for ca in (None, "issuing-1", "issuing-2")
        for profile in (None, "tls-server")
        for ra in (None, "ra-east")
    ]
    for grant in grants:
        narrowed = grant.narrowed_to("issuing-1")
        for scope in SCOPES:
            if narrowed is not None and narrowed.covers(*scope):
                assert grant.covers(*scope), (grant, scope)
                assert scope[0] == "issuing-1", (grant, scope)


# -- Principal ------------------------------------------------------------------------------------


def test_principal_roles_are_unscoped_grants() -> None:
    principal = who(Grant(Role.RA_OFFICER, ca="issuing-1"), roles=frozenset({Role.AUDITOR}))
    assert principal.all_grants == {Grant(Role.RA_OFFICER, ca="issuing-1"), Grant(Role.AUDITOR)}
    assert principal.has(Role.AUDITOR)
    assert not principal.has(Role.RA_OFFICER)  # held on one CA only, not everywhere
    assert who(Grant(Role.RA_OFFICER)).has(Role.RA_OFFICER)  # an unscoped grant is held everywhere
    assert not Principal("nobody").all_grants


def test_cli_operator_and_system_are_administrators() -> None:
    operator = local_operator("root")
    assert operator.name == "cli:root" and operator.kind == "cli"
    assert operator.has(Role.ADMINISTRATOR)
    assert SYSTEM.has(Role.ADMINISTRATOR) and SYSTEM.kind == "system"
    assert all(allows(operator, permission) for permission in Permission)


# -- The role table --------------------------------------------------------------------------------


def test_role_permissions_table() -> None:
    assert ROLE_PERMISSIONS == EXPECTED
    assert set(ROLE_PERMISSIONS) == set(Role)


@pytest.mark.parametrize("role", list(Role), ids=[f"ok/{r.value}" for r in Role])
@pytest.mark.parametrize("permission", list(Permission), ids=[p.value for p in Permission])
def test_unscoped_role_has_exactly_its_permissions_everywhere(role: Role, permission: Permission) -> None:
    expected = permission in EXPECTED[role]
    for principal in (who(roles=frozenset({role})), who(Grant(role))):
        for scope in SCOPES:
            assert allows(principal, permission, *scope) is expected, scope


@pytest.mark.parametrize("role", list(Role), ids=[f"ok/{r.value}" for r in Role])
@pytest.mark.parametrize("permission", list(Permission), ids=[p.value for p in Permission])
def test_role_scoped_to_a_ca(role: Role, permission: Permission) -> None:
    principal = who(Grant(role, ca="issuing-1"))
    held = permission in EXPECTED[role]
    assert allows(principal, permission, "issuing-1") is held
    assert allows(principal, permission, "issuing-1", "tls-server") is held
    assert allows(principal, permission, "issuing-1", "tls-server", "ra-east") is held
    assert not allows(principal, permission, "issuing-2")
    assert not allows(principal, permission, "issuing-2", "tls-server")
    assert not allows(principal, permission)  # "on every CA" is not "on issuing-1"
    assert not allows(principal, permission, None, "tls-server")


@pytest.mark.parametrize("role", list(Role), ids=[f"ok/{r.value}" for r in Role])
@pytest.mark.parametrize("permission", list(Permission), ids=[p.value for p in Permission])
def test_role_scoped_to_a_profile(role: Role, permission: Permission) -> None:
    principal = who(Grant(role, profile="tls-server"))
    held = permission in EXPECTED[role]
    assert allows(principal, permission, "issuing-1", "tls-server") is held
    assert allows(principal, permission, "issuing-2", "tls-server") is held
    assert allows(principal, permission, None, "tls-server") is held
    assert not allows(principal, permission, "issuing-1", "tls-client")
    assert not allows(principal, permission, "issuing-1")
    assert not allows(principal, permission)


def test_role_scoped_to_an_ra() -> None:
    principal = who(Grant(Role.RA_OFFICER, ra="ra-east"))
    assert allows(principal, Permission.CERT_ISSUE, "issuing-1", "tls-server", "ra-east")
    assert not allows(principal, Permission.CERT_ISSUE, "issuing-1", "tls-server", "ra-west")
    assert not allows(principal, Permission.CERT_ISSUE, "issuing-1", "tls-server")


def test_grants_add_up_but_never_mix_scopes() -> None:
    """An auditor everywhere and an RA officer on issuing-1 may issue on issuing-1 only."""
    principal = who(Grant(Role.AUDITOR), Grant(Role.RA_OFFICER, ca="issuing-1"))
    assert allows(principal, Permission.CERT_ISSUE, "issuing-1", "tls-server")
    assert not allows(principal, Permission.CERT_ISSUE, "issuing-2", "tls-server")
    assert allows(principal, Permission.CERT_READ, "issuing-2")
    assert allows(principal, Permission.AUDIT_READ)
    # Profile on one grant and CA on another do not combine into "that profile on that CA" only:
    # each grant is checked on its own.
    split = who(Grant(Role.RA_OFFICER, ca="issuing-1"), Grant(Role.AUDITOR, profile="tls-server"))
    assert not allows(split, Permission.CERT_ISSUE, "issuing-2", "tls-server")


# -- The auditor reads everything and changes nothing ---------------------------------------------


def test_auditor_reads_everything() -> None:
    auditor = who(Grant(Role.AUDITOR))
    for permission in READS | {Permission.AUDIT_READ, Permission.USER_READ}:
        for scope in SCOPES:
            assert allows(auditor, permission, *scope), (permission, scope)


@pytest.mark.parametrize("permission", sorted(WRITES), ids=[f"fail/{p.value}" for p in sorted(WRITES)])
def test_auditor_changes_nothing(permission: Permission) -> None:
    auditor = who(Grant(Role.AUDITOR))
    for scope in SCOPES:
        assert not allows(auditor, permission, *scope)
        with pytest.raises(Forbidden):
            require(auditor, permission, *scope)


def test_write_permissions_are_what_we_think() -> None:
    """If a permission is added, decide here whether an auditor may have it."""
    assert {
        Permission.CA_MANAGE,
        Permission.CERT_ISSUE,
        Permission.CERT_REVOKE,
        Permission.KEY_EXPORT,
        Permission.TOKEN_MANAGE,
        Permission.PROFILE_MANAGE,
        Permission.LINT_DISABLE,
        Permission.USER_MANAGE,
        Permission.APPROVE,
        Permission.POLICY_MANAGE,
        Permission.RA_MANAGE,
        Permission.REQUEST_SUBMIT,
        Permission.REQUEST_APPROVE,
        Permission.NOTIFY_MANAGE,
        Permission.ACME_MANAGE,
    } == WRITES


def test_only_administrators_approve_export_keys_or_manage_users_tokens_and_policies() -> None:
    for permission in (
        Permission.APPROVE,
        Permission.KEY_EXPORT,
        Permission.USER_MANAGE,
        Permission.TOKEN_MANAGE,
        Permission.POLICY_MANAGE,
        Permission.LINT_DISABLE,
        Permission.NOTIFY_MANAGE,
    ):
        holders = {role for role, permissions in ROLE_PERMISSIONS.items() if permission in permissions}
        assert holders == {Role.ADMINISTRATOR}, permission


def test_requester_may_only_submit_and_nobody_may_do_nothing() -> None:
    for principal in (who(Grant(Role.REQUESTER)), who(roles=frozenset({Role.REQUESTER})), Principal("nobody")):
        for permission in Permission:
            for scope in SCOPES:
                may = principal.name != "nobody" and permission is Permission.REQUEST_SUBMIT
                assert allows(principal, permission, *scope) is may


# -- require / require_on_ca / permitted_cas -------------------------------------------------------


def test_require_names_who_what_and_where() -> None:
    principal = who(Grant(Role.RA_OFFICER, ca="issuing-1"))
    require(principal, Permission.CERT_ISSUE, "issuing-1", "tls-server")  # no error
    with pytest.raises(Forbidden) as refused:
        require(principal, Permission.CERT_ISSUE, "issuing-2", "tls-server", "ra-east")
    assert (
        refused.value.detail == "alice may not certificate:issue on CA issuing-2 under profile tls-server in RA ra-east"
    )
    with pytest.raises(Forbidden) as refused:
        require(principal, Permission.USER_MANAGE)
    assert refused.value.detail == "alice may not user:manage"


def test_require_on_ca_ignores_the_profile_until_it_is_known() -> None:
    profile_officer = who(Grant(Role.RA_OFFICER, ca="issuing-1", profile="tls-server"))
    require_on_ca(profile_officer, Permission.CERT_REVOKE, "issuing-1")
    with pytest.raises(Forbidden):
        require_on_ca(profile_officer, Permission.CERT_REVOKE, "issuing-2")
    with pytest.raises(Forbidden):
        require_on_ca(who(Grant(Role.AUDITOR)), Permission.CERT_REVOKE, "issuing-1")
    require_on_ca(who(Grant(Role.RA_OFFICER, profile="tls-server")), Permission.CERT_REVOKE, "issuing-2")


def test_permitted_cas() -> None:
    assert permitted_cas(who(Grant(Role.AUDITOR)), Permission.CERT_READ) is None
    assert permitted_cas(who(Grant(Role.AUDITOR)), Permission.CERT_ISSUE) == frozenset()
    scoped = who(Grant(Role.RA_OFFICER, ca="issuing-1"), Grant(Role.CA_OPERATOR, ca="issuing-2"))
    assert permitted_cas(scoped, Permission.CERT_ISSUE) == {"issuing-1", "issuing-2"}
    assert permitted_cas(scoped, Permission.CA_MANAGE) == {"issuing-2"}
