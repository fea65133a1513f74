"""Finalization (RFC 8555 §7.4): the CSR must name exactly the order's identifiers; it goes to the
directory's RA as a request of ``acme:{directory}``. Under an approval policy the order stays
``processing`` until the request is decided; reading it polls the request."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from chancery.clock import Clock
from chancery.domain.acme import AccountRecord, OrderRecord, OrderStatus, b64url_decode
from chancery.domain.audit import AuditEvent, Outcome
from chancery.domain.registration import RequestRecord, RequestState
from chancery.domain.serials import SerialNumber
from chancery.errors import BadCSR, CAError, Conflict, Malformed, PayloadTooLarge
from chancery.pki.csr import VerifiedCsr, load_csr
from chancery.pki.encoding import to_pem
from chancery.services.acme.challenges import problem_json
from chancery.services.acme.directories import AcmeDirectories, submitter
from chancery.services.acme.errors import OrderNotReady
from chancery.services.acme.limits import check_certificates, registered_domains
from chancery.services.acme.orders import AcmeOrders, actor
from chancery.services.ports import DurableWriter, Transactions, UnitOfWork
from chancery.services.registration.delivery import RequestDelivery
from chancery.services.registration.intake import CsrSubmission, RequestIntake

RETRY_AFTER = 10  # seconds a client waits before polling a processing order
_FAILED = (RequestState.DENIED, RequestState.CANCELLED, RequestState.EXPIRED, RequestState.FAILED)


class Finalizer:
    def __init__(
        self,
        transactions: Transactions,
        writer: DurableWriter,
        clock: Clock,
        directories: AcmeDirectories,
        orders: AcmeOrders,
        intake: RequestIntake,
        delivery: RequestDelivery,
    ) -> None:
        self._tx = transactions
        self._writer = writer
        self._clock = clock
        self._directories = directories
        self._orders = orders
        self._intake = intake
        self._delivery = delivery
        orders.poll_processing = self.poll

    def finalize(self, account: AccountRecord, order_id: str, payload: dict[str, Any]) -> OrderRecord:
        order = self._orders.get(account, order_id)
        if order.status is not OrderStatus.READY:
            raise OrderNotReady(f"the order is {order.status.value}, not ready")
        csr = _csr_bytes(payload.get("csr"))
        verified = _load(csr)
        names = _check_names(verified, order)
        if _same_key(verified.public_key, account.jwk):  # RFC 8555 §11.1
            raise BadCSR("the CSR's public key is the account key; a certificate needs a key of its own")
        directory = self._directories.get(account.directory)
        now = self._clock.now()

        def claim(uow: UnitOfWork) -> bool:
            check_certificates(uow, names, directory.policy, now)
            return uow.acme.move_order(order_id, OrderStatus.READY, OrderStatus.PROCESSING, finalized_at=now)

        if not self._writer.run(claim):
            raise OrderNotReady("the order is being finalized already")
        ca = self._directories.ca_of(directory)
        try:
            submitted = self._intake.submit_csr(
                submitter(directory, ca),
                CsrSubmission(directory.ra, directory.profile, csr, validity_days=directory.policy.validity_days),
            )
        except CAError as refused:
            self._settle(account, order, None, problem_json("badCSR", refused.detail[:1000]))
            raise BadCSR(refused.detail) from None
        return self._after(account, order, submitted.request)

    def poll(self, order: OrderRecord) -> OrderRecord:
        if order.status is not OrderStatus.PROCESSING or order.request_id is None:
            return order
        request = self._delivery.status(order.request_id)
        if request.state is RequestState.PENDING or request.state is RequestState.APPROVED:
            return order
        with self._tx.read() as uow:
            account = uow.acme.get_account(order.account_id)
        assert account is not None
        return self._after(account, order, request)

    def certificate(self, account: AccountRecord, order_id: str) -> bytes:
        """The certificate then its chain, PEM (RFC 8555 §7.4.2)."""
        order = self._orders.get(account, order_id)
        if order.status is not OrderStatus.VALID or order.serial is None or order.ca is None:
            raise Conflict("the order has no certificate")
        with self._tx.read() as uow:
            record = uow.certificates.get(order.ca, SerialNumber.from_hex(order.serial))
            authority = uow.authorities.get(order.ca)
        assert record is not None and record.der is not None and authority is not None and authority.certificate
        chain = [x509.load_der_x509_certificate(der) for der in (record.der, authority.certificate, *authority.chain)]
        return to_pem(chain[:-1] if len(chain) > 2 else chain)  # the root stays out (clients have it)

    def _after(self, account: AccountRecord, order: OrderRecord, request: RequestRecord) -> OrderRecord:
        """Record where the RA request left the order."""
        if request.state is RequestState.ISSUED:
            return self._settle(account, order, request, None)
        if request.state in _FAILED:
            detail = request.error or request.reason or f"the request was {request.state.value}"
            return self._settle(
                account, order, request, problem_json("badCSR", f"{request.state.value}: {detail}"[:1000])
            )
        if order.request_id is None:
            self._writer.run(
                lambda uow: uow.acme.move_order(
                    order.order_id, OrderStatus.PROCESSING, OrderStatus.PROCESSING, request_id=request.request_id
                )
            )
        return self._reload(order.order_id)

    def _settle(
        self, account: AccountRecord, order: OrderRecord, request: RequestRecord | None, error: str | None
    ) -> OrderRecord:
        now = self._clock.now()
        to = OrderStatus.INVALID if error else OrderStatus.VALID
        values: dict[str, Any] = {"error": error}
        if request is not None:
            values.update(request_id=request.request_id, ca=request.ca, serial=request.serial)

        def settle(uow: UnitOfWork) -> None:
            if not uow.acme.move_order(order.order_id, OrderStatus.PROCESSING, to, **values):
                return
            if to is OrderStatus.VALID:
                domains = registered_domains(i.base for i in order.identifiers)
                uow.acme.record_issued_names(order.order_id, order.directory, domains, now)
            details = {"request": values.get("request_id"), "serial": values.get("serial"), "error": error}
            outcome = Outcome.FAILURE if error else Outcome.SUCCESS
            event = AuditEvent(
                "acme.order.finalized", actor(account), outcome, values.get("ca"), order.order_id, details
            )
            uow.audit.append([event], now)

        self._writer.run(settle)
        return self._reload(order.order_id)

    def _reload(self, order_id: str) -> OrderRecord:
        with self._tx.read() as uow:
            order = uow.acme.get_order(order_id)
        assert order is not None
        return order


def _csr_bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise Malformed("finalize needs a csr (base64url DER)")
    if len(value) > 64 * 1024:
        raise PayloadTooLarge("the CSR is too large")
    return b64url_decode(value)


def _load(csr: bytes) -> VerifiedCsr:
    try:
        return load_csr(csr)
    except CAError as bad:
        raise BadCSR(bad.detail) from None


def _same_key(key: PublicKeyTypes, account_jwk: str) -> bool:
    """Whether ``key`` is the account's key (RFC 8555 §11.1), compared by value, not by encoding."""
    jwk = json.loads(account_jwk)

    def number(member: str) -> int:
        return int.from_bytes(b64url_decode(str(jwk.get(member, ""))), "big")

    if isinstance(key, ec.EllipticCurvePublicKey) and jwk.get("kty") == "EC":
        point = key.public_numbers()
        return (point.x, point.y) == (number("x"), number("y"))
    if isinstance(key, rsa.RSAPublicKey) and jwk.get("kty") == "RSA":
        numbers = key.public_numbers()
        return (numbers.n, numbers.e) == (number("n"), number("e"))
    if isinstance(key, ed25519.Ed25519PublicKey) and jwk.get("kty") == "OKP":
        return key.public_bytes_raw() == b64url_decode(str(jwk.get("x", "")))
    return False


def _check_names(verified: VerifiedCsr, order: OrderRecord) -> set[str]:
    """RFC 8555 §7.4: the CSR's names (CN and SANs) are exactly the order's identifiers."""
    names: set[str] = set()
    for attribute in verified.csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME):
        names.add(_normal(str(attribute.value)))
    for name in verified.sans:
        if isinstance(name, x509.DNSName):
            names.add(name.value.lower())
        elif isinstance(name, x509.IPAddress):
            names.add(str(name.value))
        else:
            raise BadCSR("the CSR asks for a name of a kind ACME does not validate")
    wanted = {i.value for i in order.identifiers}
    if names != wanted:
        extra, missing = sorted(names - wanted), sorted(wanted - names)
        raise BadCSR(f"the CSR's names must be the order's identifiers exactly; extra: {extra}, missing: {missing}")
    return wanted


def _normal(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name.lower()
