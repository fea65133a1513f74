"""Rate limits per account (new orders per hour) and per registered domain (certificates per
week), set per directory; over the limit is ``rateLimited`` with Retry-After (RFC 8555 §6.6)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from chancery.domain.acme import DirectoryPolicy, registered_domain
from chancery.errors import RateLimited
from chancery.services.ports import UnitOfWork

HOUR = dt.timedelta(hours=1)
WEEK = dt.timedelta(days=7)


def check_new_order(uow: UnitOfWork, account_id: str, policy: DirectoryPolicy, now: dt.datetime) -> None:
    if uow.acme.count_orders_since(account_id, now - HOUR) >= policy.orders_per_hour:
        raise RateLimited(
            f"at most {policy.orders_per_hour} new orders per account per hour", retry_after=int(HOUR.total_seconds())
        )


def registered_domains(names: Iterable[str]) -> set[str]:
    return {registered_domain(name) for name in names if not _is_ip(name)}


def check_certificates(uow: UnitOfWork, names: Iterable[str], policy: DirectoryPolicy, now: dt.datetime) -> None:
    for domain in sorted(registered_domains(names)):
        if uow.acme.count_issued(domain, now - WEEK) >= policy.certificates_per_domain_week:
            raise RateLimited(
                f"at most {policy.certificates_per_domain_week} certificates per week for {domain}",
                retry_after=int(dt.timedelta(days=1).total_seconds()),
            )


def _is_ip(name: str) -> bool:
    return ":" in name or name.replace(".", "").isdigit()
