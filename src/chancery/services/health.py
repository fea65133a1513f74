"""Liveness for load balancers: is the database reachable?"""

from __future__ import annotations

from chancery.errors import CAError
from chancery.services.ports import Transactions


class HealthService:
    def __init__(self, transactions: Transactions) -> None:
        self._tx = transactions

    def database_ok(self) -> bool:
        try:
            with self._tx.read() as uow:
                uow.authorities.get("")
        except CAError:
            return False
        return True
