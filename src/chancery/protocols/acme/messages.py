"""ACME resources as JSON (RFC 8555 §7.1): directory, account, order, authorization, challenge."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from chancery.domain.acme import AccountRecord, AuthzRecord, ChallengeRecord, DirectoryRecord, OrderRecord, OrderStatus


def timestamp(at: dt.datetime) -> str:
    """RFC 3339, UTC."""
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Urls:
    """Every URL of one directory, from the base the client reached it at."""

    root: str  # https://host/acme/NAME

    def of(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    def account(self, account_id: str) -> str:
        return self.of("account", account_id)

    def order(self, order_id: str) -> str:
        return self.of("order", order_id)

    def authz(self, authz_id: str) -> str:
        return self.of("authz", authz_id)

    def challenge(self, authz_id: str, challenge_id: str) -> str:
        return self.of("chall", authz_id, challenge_id)


def directory(urls: Urls, record: DirectoryRecord, caa_identities: tuple[str, ...]) -> dict[str, Any]:
    meta: dict[str, Any] = {"externalAccountRequired": record.policy.require_eab}
    if record.policy.terms_of_service:
        meta["termsOfService"] = record.policy.terms_of_service
    if record.policy.website:
        meta["website"] = record.policy.website
    if caa_identities:
        meta["caaIdentities"] = list(caa_identities)
    return {
        "newNonce": urls.of("new-nonce"),
        "newAccount": urls.of("new-account"),
        "newOrder": urls.of("new-order"),
        "revokeCert": urls.of("revoke-cert"),
        "keyChange": urls.of("key-change"),
        "renewalInfo": urls.of("renewal-info"),
        "meta": meta,
    }


def account(urls: Urls, record: AccountRecord) -> dict[str, Any]:
    document: dict[str, Any] = {
        "status": record.status.value,
        "contact": list(record.contact),
        "orders": urls.of("orders", record.account_id),
        "key": json.loads(record.jwk),
        "createdAt": timestamp(record.created_at),
    }
    if record.eab_kid:
        document["externalAccountBinding"] = {"kid": record.eab_kid}
    return document


def order(urls: Urls, record: OrderRecord) -> dict[str, Any]:
    document: dict[str, Any] = {
        "status": record.status.value,
        "expires": timestamp(record.expires_at),
        "identifiers": [{"type": i.type, "value": i.value} for i in record.identifiers],
        "authorizations": [urls.authz(a) for a in record.authz_ids],
        "finalize": urls.of("order", record.order_id, "finalize"),
    }
    if record.status is OrderStatus.VALID:
        document["certificate"] = urls.of("cert", record.order_id)
    if record.error:
        document["error"] = json.loads(record.error)
    if record.replaces:
        document["replaces"] = record.replaces
    return document


def challenge(urls: Urls, record: ChallengeRecord) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": record.type,
        "url": urls.challenge(record.authz_id, record.challenge_id),
        "status": record.status.value,
        "token": record.token,
    }
    if record.validated_at is not None and record.status.value == "valid":
        document["validated"] = timestamp(record.validated_at)
    if record.error:
        document["error"] = json.loads(record.error)
    return document


def authz(urls: Urls, record: AuthzRecord) -> dict[str, Any]:
    document: dict[str, Any] = {
        "identifier": {"type": record.identifier.type, "value": record.identifier.value},
        "status": record.status.value,
        "expires": timestamp(record.expires_at),
        "challenges": [challenge(urls, c) for c in record.challenges],
    }
    if record.wildcard:
        document["wildcard"] = True
    return document
