"""Authenticating a signed ACME request (RFC 8555 §6.2-§6.5): content type, size, JWS form,
algorithm, ``url``, exactly one of ``jwk``/``kid``, the signature, then the nonce (its tag and expiry
here; its single use where the request commits, see handlers.dispatch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chancery.domain.acme import AccountRecord, DirectoryRecord
from chancery.errors import Malformed, PayloadTooLarge, Unauthorized, UnsupportedMediaType
from chancery.protocols.acme import jws
from chancery.protocols.acme.messages import Urls
from chancery.services.acme.accounts import SignedKey
from chancery.services.acme.errors import AccountDoesNotExist
from chancery.services.acme.nonces import Redemption
from chancery.services.acme.service import AcmeService

MAX_BODY = 64 * 1024
JOSE = "application/jose+json"


@dataclass(frozen=True)
class Incoming:
    """What the HTTP layer read: the URL the client used, the directory's URLs, the body."""

    url: str
    urls: Urls
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Signed:
    """A request whose signature verified: by an account (``kid``) or by a key (``jwk``)."""

    directory: DirectoryRecord
    message: jws.Jws
    account: AccountRecord | None
    key: SignedKey | None
    public_key: jws.PublicKey
    nonce: Redemption  # checked, recorded as used by the request's first write (handlers.dispatch)

    def payload(self) -> dict[str, Any]:
        return {} if self.message.post_as_get else self.message.payload_json()

    def require_post_as_get(self) -> None:
        if not self.message.post_as_get:
            raise Malformed("this resource is read with POST-as-GET (an empty payload)")

    def require_account(self) -> AccountRecord:
        if self.account is None:
            raise Malformed("this request must be signed by an account (kid), not a bare jwk")
        return self.account


def authenticate(acme: AcmeService, directory: DirectoryRecord, incoming: Incoming, jwk_allowed: bool) -> Signed:
    if incoming.content_type.split(";")[0].strip().lower() != JOSE:
        raise UnsupportedMediaType(f"ACME requests are {JOSE} (RFC 8555 §6.2)")
    if len(incoming.body) > MAX_BODY:
        raise PayloadTooLarge(f"the request is larger than {MAX_BODY // 1024} KiB")
    message = jws.parse(incoming.body)
    header = message.protected
    algorithm = jws.check_algorithm(header)
    if header.get("url") != incoming.url:
        raise Unauthorized("the JWS url header is not the URL this request was sent to (RFC 8555 §6.4)")
    has_jwk, has_kid = "jwk" in header, "kid" in header
    if has_jwk == has_kid:
        raise Malformed("the protected header must carry exactly one of jwk and kid (RFC 8555 §6.2)")
    account: AccountRecord | None = None
    key: SignedKey | None = None
    if has_kid:
        account = _account(acme, directory, incoming.urls, header["kid"])
        public_key = jws.load_stored(account.jwk, algorithm)
    else:
        if not jwk_allowed:
            raise Malformed("this request must be signed by an account (kid), not a jwk")
        public_key, key = jws.load_jwk(header["jwk"], algorithm)
    jws.verify(public_key, algorithm, message)
    nonce = acme.nonces.check(header.get("nonce"))  # RFC 8555 §6.5, after the signature (§6.2)
    return Signed(directory, message, account, key, public_key, nonce)


def _account(acme: AcmeService, directory: DirectoryRecord, urls: Urls, kid: Any) -> AccountRecord:
    prefix = urls.account("")
    if not isinstance(kid, str) or not kid.startswith(prefix) or len(kid) > len(prefix) + 64:
        raise AccountDoesNotExist("kid is not an account URL of this directory")
    return acme.accounts.by_id(directory.name, kid[len(prefix) :])
