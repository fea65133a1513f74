"""Table definitions (SQLAlchemy Core). The migration in ``migrations/versions`` must match."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC, returns aware UTC: identical on SQLite and PostgreSQL."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; Chancery stores UTC only")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


RowId = BigInteger().with_variant(Integer(), "sqlite")

authorities = Table(
    "authorities",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("subject", Text, nullable=False),
    Column("key_id", String(80), nullable=False),
    Column("key_type", String(16), nullable=False),
    Column("parent_name", String(64), nullable=True),
    Column("certificate", LargeBinary, nullable=True),
    Column("chain_b64", Text, nullable=False, default=""),  # parents, issuer first: base64 DER per line
    Column("csr", LargeBinary, nullable=True),
    Column("path_length", Integer, nullable=True),
    Column("not_after", UTCDateTime, nullable=True),
    Column("crl_url", Text, nullable=False),
    Column("ocsp_url", Text, nullable=False),
    Column("ca_issuers_url", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

certificates = Table(
    "certificates",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("ca_name", String(64), ForeignKey("authorities.name"), nullable=False),
    Column("serial", String(40), nullable=False),
    Column("state", String(16), nullable=False),
    Column("profile", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("sans", Text, nullable=False, default=""),
    Column("not_before", UTCDateTime, nullable=False),
    Column("not_after", UTCDateTime, nullable=False),
    Column("public_key_sha256", String(64), nullable=False),
    Column("der", LargeBinary, nullable=True),
    Column("key_id", String(80), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revocation_reason", Integer, nullable=True),
    Column("invalidity_date", UTCDateTime, nullable=True),
    Column("renewal_of", String(40), nullable=True),
    Column("crl_entry", LargeBinary, nullable=True),  # revokedCertificates entry, while revoked
    Column("crl_partition", Integer, nullable=True),  # the CRL distribution point it names
    Column("profile_version", Integer, nullable=True),  # NULL: issued before profiles were versioned
    # DESIGN.md invariant 2: serials are unique per issuer, enforced here.
    UniqueConstraint("ca_name", "serial"),
    Index("ix_certificates_ca_name_state", "ca_name", "state"),
    Index("ix_certificates_not_after", "not_after"),
    Index("ix_certificates_public_key_sha256", "public_key_sha256"),
)

profiles = Table(
    "profiles",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("document", Text, nullable=False),  # JSON, as its author wrote it
    Column("subject_profile", String(64), nullable=True),
    Column("subject_version", Integer, nullable=True),
    Column("comment", Text, nullable=False, default=""),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Versions only grow; two concurrent edits of one profile cannot both take the next number.
    UniqueConstraint("name", "version"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("roles", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

trust_anchors = Table(
    "trust_anchors",
    metadata,
    Column("fingerprint_sha256", String(64), primary_key=True),
    Column("subject", Text, nullable=False),
    Column("der", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

sealed_keys = Table(
    "sealed_keys",
    metadata,
    Column("key_id", String(80), primary_key=True),
    Column("key_type", String(16), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("blob", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

keystore_checks = Table(
    "keystore_checks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("check_blob", Text, nullable=False),
)

revocation_settings = Table(
    "revocation_settings",
    metadata,
    Column("ca_name", String(64), ForeignKey("authorities.name"), primary_key=True),
    Column("crl_validity", Integer, nullable=False),
    Column("delta_validity", Integer, nullable=False),
    Column("partitions", Integer, nullable=False),
    Column("ocsp_validity", Integer, nullable=False),
    Column("ocsp_signing", String(16), nullable=False),
)

revocation_events = Table(
    "revocation_events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("ca_name", String(64), ForeignKey("authorities.name"), nullable=False),
    Column("serial", String(40), nullable=False),
    Column("crl_entry", LargeBinary, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Index("ix_revocation_events_ca_name_id", "ca_name", "id"),
)

crls = Table(
    "crls",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("ca_name", String(64), ForeignKey("authorities.name"), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("crl_number", BigInteger, nullable=False),
    Column("this_update", UTCDateTime, nullable=False),
    Column("next_update", UTCDateTime, nullable=False),
    Column("der", LargeBinary, nullable=False),
    Column("last_event_id", BigInteger, nullable=False),
    Column("base_crl_number", BigInteger, nullable=True),
    UniqueConstraint("ca_name", "crl_number", "scope", "partition"),
    Index("ix_crls_ca_name_scope_partition_id", "ca_name", "scope", "partition", "id"),
)

ocsp_responses = Table(
    "ocsp_responses",
    metadata,
    Column("ca_name", String(64), ForeignKey("authorities.name"), primary_key=True),
    Column("serial", String(40), primary_key=True),
    Column("hash_algorithm", String(16), primary_key=True),
    Column("cert_id", LargeBinary, nullable=False),
    Column("der", LargeBinary, nullable=False),
    Column("this_update", UTCDateTime, nullable=False),
    Column("next_update", UTCDateTime, nullable=False),
    Index("ix_ocsp_responses_next_update", "next_update"),
)

ocsp_responders = Table(
    "ocsp_responders",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("ca_name", String(64), ForeignKey("authorities.name"), nullable=False),
    Column("key_id", String(80), nullable=False),
    Column("certificate", LargeBinary, nullable=False),
    Column("not_after", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_ocsp_responders_ca_name_id", "ca_name", "id"),
)
