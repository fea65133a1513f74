"""The signed ACME resources (RFC 8555 §7.3-§7.6): decode -> service -> encode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chancery.domain.acme import OrderRecord, OrderStatus
from chancery.errors import Malformed, NotFound, Unauthorized
from chancery.protocols.acme import jws, messages
from chancery.protocols.acme.messages import Urls
from chancery.protocols.acme.signed import Incoming, Signed, authenticate
from chancery.services.acme.accounts import KeyChange, NewAccount
from chancery.services.acme.finalize import RETRY_AFTER
from chancery.services.acme.revocation import AcmeRevocation
from chancery.services.acme.service import AcmeService


@dataclass
class Reply:
    status: int = 200
    document: Any = None  # JSON, or bytes with ``media_type``
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[AcmeService, Signed, Incoming, list[str]], Reply]


def new_account(acme: AcmeService, signed: Signed, incoming: Incoming, _: list[str]) -> Reply:
    if signed.key is None:
        raise Malformed("newAccount is signed with the new account's jwk (RFC 8555 §7.3)")
    request = NewAccount(signed.directory.name, signed.key, incoming.url, signed.message.payload_json())
    account, created = acme.accounts.new_account(request)
    location = incoming.urls.account(account.account_id)
    return Reply(201 if created else 200, messages.account(incoming.urls, account), headers={"Location": location})


def account(acme: AcmeService, signed: Signed, incoming: Incoming, parts: list[str]) -> Reply:
    current = signed.require_account()
    if parts != [current.account_id]:
        raise Unauthorized("an account may only read and change itself")
    updated = acme.accounts.update(current, signed.payload())
    return Reply(200, messages.account(incoming.urls, updated), headers={"Location": incoming.url})


def key_change(acme: AcmeService, signed: Signed, incoming: Incoming, _: list[str]) -> Reply:
    """RFC 8555 §7.3.5: the payload is a JWS signed by the new key over {account, oldKey}."""
    current = signed.require_account()
    inner = jws.parse(signed.message.payload)
    algorithm = jws.check_algorithm(inner.protected)
    if "jwk" not in inner.protected or "kid" in inner.protected or "nonce" in inner.protected:
        raise Malformed("the inner JWS carries the new key as jwk, and no kid or nonce")
    if inner.protected.get("url") != incoming.url:
        raise Malformed("the inner JWS url must be the keyChange URL")
    public_key, new_key = jws.load_jwk(inner.protected["jwk"], algorithm)
    jws.verify(public_key, algorithm, inner)
    change = KeyChange(current, incoming.urls.account(current.account_id), new_key, inner.payload_json())
    updated = acme.accounts.change_key(change)
    return Reply(200, messages.account(incoming.urls, updated), headers={"Location": change.account_url})


def new_order(acme: AcmeService, signed: Signed, incoming: Incoming, _: list[str]) -> Reply:
    created = acme.orders.new_order(signed.require_account(), signed.message.payload_json())
    return _order(incoming.urls, created, 201)


def order(acme: AcmeService, signed: Signed, incoming: Incoming, parts: list[str]) -> Reply:
    current = signed.require_account()
    if len(parts) == 2 and parts[1] == "finalize":
        return _order(incoming.urls, acme.finalizer.finalize(current, parts[0], signed.message.payload_json()))
    if len(parts) != 1:
        raise NotFound("no such resource")
    signed.require_post_as_get()
    return _order(incoming.urls, acme.orders.get(current, parts[0]))


def orders(acme: AcmeService, signed: Signed, incoming: Incoming, parts: list[str]) -> Reply:
    current = signed.require_account()
    if parts != [current.account_id]:
        raise Unauthorized("an account may only list its own orders")
    signed.require_post_as_get()
    listed = acme.orders.of_account(current)
    return Reply(200, {"orders": [incoming.urls.order(o.order_id) for o in listed]})


def authz(acme: AcmeService, signed: Signed, incoming: Incoming, parts: list[str]) -> Reply:
    if len(parts) != 1:
        raise NotFound("no such authorization")
    record = acme.challenges.update_authz(signed.require_account(), parts[0], signed.payload())
    return Reply(200, messages.authz(incoming.urls, record))


def challenge(acme: AcmeService, signed: Signed, incoming: Incoming, parts: list[str]) -> Reply:
    if len(parts) != 2:
        raise NotFound("no such challenge")
    current = signed.require_account()
    if signed.message.post_as_get:
        record = acme.challenges.authz(current, parts[0])
        found = next((c for c in record.challenges if c.challenge_id == parts[1]), None)
        if found is None:
            raise NotFound("no such challenge")
    else:
        signed.message.payload_json()  # RFC 8555 §7.5.1: an empty object
        _, found = acme.challenges.respond(current, parts[0], parts[1], incoming.urls.account(current.account_id))
    headers = {"Link": f'<{incoming.urls.authz(parts[0])}>;rel="up"'}
    if found.status.value == "processing":
        headers["Retry-After"] = "1"
    return Reply(200, messages.challenge(incoming.urls, found), headers=headers)


def certificate(acme: AcmeService, signed: Signed, incoming: Incoming, parts: list[str]) -> Reply:
    if len(parts) != 1:
        raise NotFound("no such certificate")
    signed.require_post_as_get()
    pem = acme.finalizer.certificate(signed.require_account(), parts[0])
    return Reply(200, pem, media_type="application/pem-certificate-chain")


def revoke(acme: AcmeService, signed: Signed, incoming: Incoming, _: list[str]) -> Reply:
    """RFC 8555 §7.6: by the ordering account (kid) or by the certificate's key (jwk)."""
    payload = signed.message.payload_json()
    spki = None if signed.account is not None else jws.spki(signed.public_key)
    acme.revoker.revoke(AcmeRevocation(signed.directory.name, payload, signed.account, spki))
    return Reply(200, b"", media_type="application/octet-stream")


def _order(urls: Urls, record: OrderRecord, status: int = 200) -> Reply:
    headers = {"Location": urls.order(record.order_id)}
    if record.status is OrderStatus.PROCESSING:
        headers["Retry-After"] = str(RETRY_AFTER)
    return Reply(status, messages.order(urls, record), headers=headers)


# resource -> (handler, may be signed with a jwk)
RESOURCES: dict[str, tuple[Handler, bool]] = {
    "new-account": (new_account, True),
    "account": (account, False),
    "key-change": (key_change, False),
    "new-order": (new_order, False),
    "order": (order, False),
    "orders": (orders, False),
    "authz": (authz, False),
    "chall": (challenge, False),
    "cert": (certificate, False),
    "revoke-cert": (revoke, True),
}

# Resources that write through services other than the ACME ones (revocation: the certificate
# service): their nonce is recorded in a commit of its own before the work.
_NONCE_FIRST = frozenset({"revoke-cert"})


def dispatch(acme: AcmeService, directory_name: str, path: str, incoming: Incoming) -> Reply:
    resource, *parts = path.split("/")
    if resource not in RESOURCES:
        raise NotFound("no such ACME resource")
    handler, jwk_allowed = RESOURCES[resource]
    directory = acme.directories.get(directory_name)
    signed = authenticate(acme, directory, incoming, jwk_allowed)
    if resource in _NONCE_FIRST:
        acme.nonces.record(signed.nonce)
    with acme.nonces.redeeming(signed.nonce):  # RFC 8555 §6.5: used once, in the request's own commit
        return handler(acme, signed, incoming, parts)
