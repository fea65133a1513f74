"""Resolving a CA name to what signs for it, with a short-lived cache."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from chancery.domain.records import CAStatus, CertificateAuthorityRecord
from chancery.errors import Conflict, NotFound
from chancery.keys.base import KeyStore
from chancery.pki.chain import remaining_path_length
from chancery.pki.issuer import Signer
from chancery.services.ports import Transactions


@dataclass(frozen=True)
class ActiveCA:
    """An active CA ready to sign: its record, parsed certificate and chain, and signer."""

    record: CertificateAuthorityRecord
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    signer: Signer
    crl_partitions: int = 0

    @cached_property
    def chain_with_self(self) -> tuple[x509.Certificate, ...]:
        """This CA's certificate and its parents: the chain of what it issues."""
        return (self.certificate, *self.chain)

    @cached_property
    def chain_pem(self) -> tuple[str, ...]:
        """:attr:`chain_with_self` in PEM, computed once (every issuance response carries it)."""
        return tuple(cert.public_bytes(Encoding.PEM).decode("ascii") for cert in self.chain_with_self)


class SignerDirectory:
    """Finds active (and retired) CAs. Entries live ``ttl_seconds`` so status changes made by
    other nodes are seen quickly; changes made here call :meth:`forget` at once."""

    def __init__(self, transactions: Transactions, keys: KeyStore, ttl_seconds: float = 2.0) -> None:
        self._tx = transactions
        self._keys = keys
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, ActiveCA]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> ActiveCA:
        """A CA that may issue: :class:`NotFound` for an unknown CA, :class:`Conflict` for one that
        cannot sign (pending) or may no longer issue (retired)."""
        active = self.for_revocation(name)
        if active.record.status is CAStatus.RETIRED:
            raise Conflict(
                f"CA {name!r} is retired and issues no more certificates (it still publishes CRLs and answers OCSP)"
            )
        return active

    def for_revocation(self, name: str) -> ActiveCA:
        """A CA that signs revocation status: active or retired. A retired CA keeps publishing CRLs
        and answering OCSP for what it issued (RFC 5280 §3.3: revocation information stays
        available until the certificates it covers expire)."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(name)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self._tx.read() as uow:
            record = uow.authorities.get(name)
            settings = uow.revocation_settings.get(name)
        active = self.activate(record, name, settings.partitions if settings else 0)
        with self._lock:
            self._cache[name] = (now + self._ttl, active)
        return active

    def activate(self, record: CertificateAuthorityRecord | None, name: str, crl_partitions: int = 0) -> ActiveCA:
        """Build the signer of ``record`` (checking that it may sign)."""
        if record is None:
            raise NotFound(f"no CA named {name!r}")
        if record.status is CAStatus.PENDING or record.certificate is None:
            hint = (
                "; import its certificate with `chancery ca import-certificate`"
                if record.status is CAStatus.PENDING
                else ""
            )
            raise Conflict(f"CA {name!r} is {record.status.value} and cannot sign{hint}")
        certificate = x509.load_der_x509_certificate(record.certificate)
        chain = tuple(x509.load_der_x509_certificate(der) for der in record.chain)
        signer = Signer(
            key=self._keys.load(record.key_id),
            certificate=certificate,
            urls=record.urls,
            remaining_path_length=remaining_path_length(certificate, chain),
        )
        return ActiveCA(
            record=record, certificate=certificate, chain=chain, signer=signer, crl_partitions=crl_partitions
        )

    def forget(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)
