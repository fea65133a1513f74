"""Logging in and administering identities over REST: login, tokens, users, groups, role grants, policies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from chancery.domain.identity import GroupRecord, RoleGrantRecord, UserRecord
from chancery.domain.principals import Role
from chancery.domain.records import ApiTokenRecord
from chancery.errors import NotFound
from chancery.protocols.rest.deps import PrincipalDep, ServicesDep
from chancery.services.identity.accounts import NewGrant

router = APIRouter(tags=["identity"])
_STRICT = ConfigDict(extra="forbid")


class LoginCreate(BaseModel):
    model_config = _STRICT
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(max_length=1024)
    otp: str | None = Field(default=None, max_length=10, description="the TOTP code, when the user has a second factor")


class LoginPublic(BaseModel):
    token: str
    token_id: str
    user: str
    expires_at: dt.datetime | None


class GrantPublic(BaseModel):
    role: str
    ca: str | None = None
    profile: str | None = None
    ra: str | None = None


class MePublic(BaseModel):
    name: str
    kind: str
    grants: list[GrantPublic]


class TokenCreate(BaseModel):
    model_config = _STRICT
    user: str = Field(max_length=128)
    name: str = Field(default="api", min_length=1, max_length=128)
    expires_in_days: int | None = Field(default=None, ge=1, le=3660, description="default 90")
    ca: str | None = Field(default=None, max_length=64, description="only on this CA")


class TokenPublic(BaseModel):
    token_id: str
    name: str
    user: str | None
    roles: list[str]
    ca: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, record: ApiTokenRecord) -> TokenPublic:
        return cls(
            token_id=record.token_id,
            name=record.name,
            user=record.user_name,
            roles=sorted(record.roles),
            ca=record.ca_scope,
            created_at=record.created_at,
            expires_at=record.expires_at,
            revoked_at=record.revoked_at,
        )


class TokenCreated(TokenPublic):
    token: str = Field(description="shown once")


class UserCreate(BaseModel):
    model_config = _STRICT
    name: str = Field(max_length=128)
    password: str | None = Field(default=None, max_length=1024)
    display_name: str = Field(default="", max_length=200)


class UserPublic(BaseModel):
    name: str
    source: str
    display_name: str
    disabled: bool
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None
    second_factor: bool
    certificate_match: str | None

    @classmethod
    def of(cls, record: UserRecord) -> UserPublic:
        return cls(
            name=record.name,
            source=record.source.value,
            display_name=record.display_name,
            disabled=record.disabled,
            locked_until=record.locked_until,
            last_login_at=record.last_login_at,
            second_factor=record.totp_sealed is not None,
            certificate_match=record.certificate_match,
        )


class GroupCreate(BaseModel):
    model_config = _STRICT
    name: str = Field(max_length=128)
    description: str = Field(default="", max_length=500)


class GroupPublic(BaseModel):
    name: str
    description: str
    members: list[str]

    @classmethod
    def of(cls, record: GroupRecord) -> GroupPublic:
        return cls(name=record.name, description=record.description, members=list(record.members))


class MemberCreate(BaseModel):
    model_config = _STRICT
    user: str = Field(max_length=128)


class RoleGrantCreate(BaseModel):
    model_config = _STRICT
    role: Role
    user: str | None = Field(default=None, max_length=128)
    group: str | None = Field(default=None, max_length=128)
    ca: str | None = Field(default=None, max_length=64)
    profile: str | None = Field(default=None, max_length=64)
    ra: str | None = Field(default=None, max_length=64)


class RoleGrantPublic(BaseModel):
    id: int
    grantee_kind: str
    grantee: str
    role: str
    ca: str | None
    profile: str | None
    ra: str | None
    created_at: dt.datetime
    created_by: str

    @classmethod
    def of(cls, r: RoleGrantRecord) -> RoleGrantPublic:
        return cls(
            id=r.grant_id,
            grantee_kind=r.grantee_kind.value,
            grantee=r.grantee,
            role=r.role.value,
            ca=r.ca,
            profile=r.profile,
            ra=r.ra,
            created_at=r.created_at,
            created_by=r.created_by,
        )


class PolicyUpdate(BaseModel):
    model_config = _STRICT
    value: int


# -- login ------------------------------------------------------------------------------------


@router.post("/auth/login", response_model=LoginPublic)
def login(body: LoginCreate, request: Request, services: ServicesDep) -> LoginPublic:
    """Check a local or LDAP user's password (and TOTP code) and answer with a token valid for 8 hours.

    Every attempt is audited; a wrong user name or password gets the same answer."""
    source = request.client.host if request.client else ""
    result = services.authenticator.password_login(body.username, body.password, body.otp, source=source)
    token = services.tokens.create_for_login(result)
    return LoginPublic(
        token=token.token, token_id=token.record.token_id, user=result.user.name, expires_at=token.record.expires_at
    )


@router.get("/auth/me", response_model=MePublic)
def me(principal: PrincipalDep) -> MePublic:
    """Who the credential belongs to and the roles it carries."""
    grants = [
        GrantPublic(role=g.role.value, ca=g.ca, profile=g.profile, ra=g.ra)
        for g in sorted(principal.all_grants, key=str)
    ]
    return MePublic(name=principal.name, kind=principal.kind, grants=grants)


# -- tokens -----------------------------------------------------------------------------------


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def create_token(body: TokenCreate, principal: PrincipalDep, services: ServicesDep) -> TokenCreated:
    """A token acting as ``user`` (yourself, or anyone with token:manage); the secret is shown once."""
    lifetime = dt.timedelta(days=body.expires_in_days) if body.expires_in_days else None
    created = services.tokens.create_for_user(principal, body.user, body.name, lifetime, body.ca)
    return TokenCreated(**TokenPublic.of(created.record).model_dump(), token=created.token)


@router.get("/tokens", response_model=list[TokenPublic])
def list_tokens(principal: PrincipalDep, services: ServicesDep) -> list[TokenPublic]:
    return [TokenPublic.of(r) for r in services.tokens.list(principal)]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.tokens.revoke(principal, token_id[:32])
    return Response(status_code=204)


# -- users, groups, grants ----------------------------------------------------------------------


@router.get("/users", response_model=list[UserPublic])
def list_users(principal: PrincipalDep, services: ServicesDep) -> list[UserPublic]:
    return [UserPublic.of(u) for u in services.accounts.list_users(principal)]


@router.post("/users", status_code=201, response_model=UserPublic)
def add_user(body: UserCreate, principal: PrincipalDep, services: ServicesDep) -> UserPublic:
    return UserPublic.of(services.accounts.add_user(principal, body.name, body.password, body.display_name))


@router.post("/users/{name}/{action}", response_model=UserPublic)
def change_user(
    name: str, action: Annotated[str, "disable, enable or unlock"], principal: PrincipalDep, services: ServicesDep
) -> UserPublic:
    """``disable`` (ends sessions, stops tokens), ``enable`` or ``unlock``."""
    if action == "unlock":
        services.accounts.unlock(principal, name)
    elif action in ("disable", "enable"):
        services.accounts.set_disabled(principal, name, action == "disable")
    else:
        raise NotFound(f"no user action {action[:20]!r}; use disable, enable or unlock")
    return UserPublic.of(services.accounts.get_user(principal, name))


@router.get("/groups", response_model=list[GroupPublic])
def list_groups(principal: PrincipalDep, services: ServicesDep) -> list[GroupPublic]:
    return [GroupPublic.of(g) for g in services.accounts.list_groups(principal)]


@router.post("/groups", status_code=201, response_model=GroupPublic)
def add_group(body: GroupCreate, principal: PrincipalDep, services: ServicesDep) -> GroupPublic:
    return GroupPublic.of(services.accounts.add_group(principal, body.name, body.description))


@router.post("/groups/{name}/members", status_code=204)
def add_member(name: str, body: MemberCreate, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.accounts.set_membership(principal, name, body.user, True)
    return Response(status_code=204)


@router.delete("/groups/{name}/members/{user}", status_code=204)
def remove_member(name: str, user: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.accounts.set_membership(principal, name, user, False)
    return Response(status_code=204)


@router.get("/grants", response_model=list[RoleGrantPublic])
def list_grants(principal: PrincipalDep, services: ServicesDep) -> list[RoleGrantPublic]:
    return [RoleGrantPublic.of(r) for r in services.accounts.list_grants(principal)]


@router.post("/grants", status_code=201, response_model=RoleGrantPublic)
def grant_role(body: RoleGrantCreate, principal: PrincipalDep, services: ServicesDep) -> RoleGrantPublic:
    """A sensitive operation: with dual control on, the answer is 202 and an operation id."""
    new = NewGrant(body.role, body.user, body.group, body.ca, body.profile, body.ra)
    return RoleGrantPublic.of(services.accounts.grant(principal, new))


@router.delete("/grants/{grant_id}", status_code=204)
def revoke_grant(grant_id: int, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.accounts.revoke_grant(principal, grant_id)
    return Response(status_code=204)


@router.get("/policies", response_model=dict[str, int])
def policies(principal: PrincipalDep, services: ServicesDep) -> dict[str, int]:
    return services.policies.current(principal)


@router.put("/policies/{name}", response_model=dict[str, int])
def set_policy(name: str, body: PolicyUpdate, principal: PrincipalDep, services: ServicesDep) -> dict[str, int]:
    services.policies.set(principal, name, body.value)
    return services.policies.current(principal)
