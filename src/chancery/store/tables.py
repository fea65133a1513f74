"""Table definitions (SQLAlchemy Core). The migration in ``migrations/versions`` must match."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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
    Column("roles", Text, nullable=False),  # service tokens: the roles; user tokens: ""
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("user_name", String(128), nullable=True),  # a user's token acts with the user's roles
    Column("ca_scope", String(64), nullable=True),  # only on this CA
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


# -- identity, audit, dual control (migration 0004) ---------------------------------------------

users = Table(
    "users",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("source", String(16), nullable=False),
    Column("display_name", Text, nullable=False, default=""),
    Column("password_hash", Text, nullable=True),
    Column("totp_sealed", Text, nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),  # a TOTP code is accepted once (RFC 6238 §5.2)
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("last_login_at", UTCDateTime, nullable=True),
    Column("directory_groups", Text, nullable=False, default="[]"),
    Column("certificate_match", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

groups = Table(
    "groups",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_name", String(128), ForeignKey("groups.name"), primary_key=True),
    Column("user_name", String(128), ForeignKey("users.name"), primary_key=True),
)

role_grants = Table(
    "role_grants",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("grantee_kind", String(8), nullable=False),
    Column("grantee", String(128), nullable=False),
    Column("role", String(32), nullable=False),
    Column("ca", String(64), nullable=True),
    Column("profile", String(64), nullable=True),
    Column("ra", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Index("ix_role_grants_grantee_kind_grantee", "grantee_kind", "grantee"),
)

ldap_settings = Table(
    "ldap_settings",
    metadata,
    Column("id", Integer, primary_key=True),  # one row
    Column("url", Text, nullable=False),
    Column("base_dn", Text, nullable=False),
    Column("bind_dn", Text, nullable=False),
    Column("bind_password_sealed", Text, nullable=False),
    Column("user_filter", Text, nullable=False),
    Column("start_tls", Boolean, nullable=False),
    Column("ca_certificates_pem", Text, nullable=True),
    Column("group_mappings", Text, nullable=False),  # JSON
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("user_name", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("csrf_hash", String(64), nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("ca", String(64), nullable=True),
    Column("target", Text, nullable=True),
    Column("details", Text, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Index("ix_audit_log_occurred_at", "occurred_at"),
    Index("ix_audit_log_action", "action"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),  # one row: the newest entry
    Column("sequence", BigInteger, nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("entry_hash", String(64), nullable=False),
    Column("signed_at", UTCDateTime, nullable=False),
    Column("key_id", String(80), nullable=False),
    Column("signature", LargeBinary, nullable=False),
)

pending_operations = Table(
    "pending_operations",
    metadata,
    Column("operation_id", String(32), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("summary", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("approvals_required", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("result", Text, nullable=False, default=""),
)

operation_approvals = Table(
    "operation_approvals",
    metadata,
    # One approval per administrator and operation, enforced here too.
    Column("operation_id", String(32), ForeignKey("pending_operations.operation_id"), primary_key=True),
    Column("approver", String(200), primary_key=True),
    Column("approved_at", UTCDateTime, nullable=False),
)

policies = Table(
    "policies",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)


emv_cas = Table(
    "emv_cas",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("rid", String(10), nullable=False),
    Column("key_index", Integer, nullable=False),
    Column("key_id", String(80), nullable=False),
    Column("modulus", Text, nullable=False),  # hex
    Column("exponent", Integer, nullable=False),
    Column("next_serial", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    UniqueConstraint("rid", "key_index", name="uq_emv_cas_rid_index"),
)

emv_issuers = Table(
    "emv_issuers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("issuer_identifier", String(8), nullable=False),
    Column("key_id", String(80), nullable=False),
    Column("modulus", Text, nullable=False),  # hex
    Column("exponent", Integer, nullable=False),
    Column("next_serial", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("ca_rid", String(10), nullable=True),  # the certification, once there is one
    Column("ca_index", Integer, nullable=True),
    Column("certificate", Text, nullable=True),  # hex, tag 90
    Column("remainder", Text, nullable=True),  # hex, tag 92
    Column("certificate_exponent", Text, nullable=True),  # hex, tag 9F32
    Column("expiry", String(4), nullable=True),
    Column("serial", String(6), nullable=True),
    Column("certified_at", UTCDateTime, nullable=True),
)

registration_authorities = Table(
    "registration_authorities",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("ca_name", String(64), nullable=False),
    Column("revocation_approvals", Integer, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("notify_emails", Text, nullable=False, default="[]"),  # JSON list
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
)

ra_profile_policies = Table(
    "ra_profile_policies",
    metadata,
    Column("ra_name", String(64), ForeignKey("registration_authorities.name"), primary_key=True),
    Column("profile", String(64), primary_key=True),
    Column("approvals", Integer, nullable=False),
    Column("approver_role", String(32), nullable=False),
    Column("approver_group", String(200), nullable=True),
    Column("allow_anonymous", Boolean, nullable=False),
    Column("lifetime_hours", Integer, nullable=False),
    Column("deny_needs_reason", Boolean, nullable=False),
)

ra_requests = Table(
    "ra_requests",
    metadata,
    Column("request_id", String(24), primary_key=True),
    Column("ra_name", String(64), ForeignKey("registration_authorities.name"), nullable=False),
    Column("ca_name", String(64), nullable=False),
    Column("profile", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("requester", String(200), nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("approvals_required", Integer, nullable=False),
    Column("subject", Text, nullable=False, default=""),
    Column("sans", Text, nullable=False, default="[]"),  # JSON list of "TYPE:value"
    Column("key_summary", String(64), nullable=False, default=""),
    Column("csr", LargeBinary, nullable=True),
    Column("key_type", String(32), nullable=True),
    Column("target_serial", String(64), nullable=True),
    Column("revocation_reason", String(32), nullable=True),
    Column("contact_email", String(254), nullable=True),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("reason", Text, nullable=False, default=""),
    Column("serial", String(64), nullable=True),
    Column("error", Text, nullable=False, default=""),
    Column("pickup_hash", String(64), nullable=True),
    Column("key_id", String(80), nullable=True),
    Column("picked_up_at", UTCDateTime, nullable=True),
    Column("validity_days", Integer, nullable=True),  # migration 0012 (ACME directories' validity)
    Index("ix_ra_requests_state_ra", "state", "ra_name"),
    Index("ix_ra_requests_expires_at", "expires_at"),
    Index("ix_ra_requests_ca_serial", "ca_name", "serial"),
)

ra_request_approvals = Table(
    "ra_request_approvals",
    metadata,
    # One approval per person and request, enforced here too (DESIGN.md invariant 4).
    Column("request_id", String(24), ForeignKey("ra_requests.request_id"), primary_key=True),
    Column("approver", String(200), primary_key=True),
    Column("approved_at", UTCDateTime, nullable=False),
    Column("comment", Text, nullable=False, default=""),
)

# -- notifications of RA request changes (migration 0008) ------------------------------------------

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("subscription_id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("ra_name", String(64), nullable=True),  # NULL: every RA
    Column("events", Text, nullable=False),  # JSON list
    Column("secret_sealed", Text, nullable=False),
    Column("ca_certificates_pem", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
)

smtp_settings = Table(
    "smtp_settings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("host", String(255), nullable=False),
    Column("port", Integer, nullable=False),
    Column("from_address", String(254), nullable=False),
    Column("security", String(16), nullable=False),
    Column("username", String(255), nullable=True),
    Column("password_sealed", Text, nullable=True),
    Column("ca_certificates_pem", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)

notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("delivery_id", String(32), primary_key=True),
    Column("event_id", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("target", Text, nullable=False),
    Column("event", String(16), nullable=False),
    Column("request_id", String(24), nullable=False),
    Column("subscription_id", String(32), nullable=True),
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=False),
    Index("ix_notification_deliveries_state_due", "state", "next_attempt_at"),
    Index("ix_notification_deliveries_created_at", "created_at"),
)

notification_attempts = Table(
    "notification_attempts",
    metadata,
    Column("delivery_id", String(32), ForeignKey("notification_deliveries.delivery_id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status", Integer, nullable=True),
    Column("error", Text, nullable=False),
)

# Key ceremonies (migration 0010): enrolled custodians and, when the software key store
# requires a quorum, each custodian's share of its secret (sealed under their passphrase).
custodians = Table(
    "custodians",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("verifier", Text, nullable=False),  # Argon2id hash of the custodian's passphrase
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
)

keystore_shares = Table(
    "keystore_shares",
    metadata,
    Column("custodian", String(32), ForeignKey("custodians.name"), primary_key=True),
    Column("quorum_id", String(32), nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("share_index", Integer, nullable=False),
    Column("blob", Text, nullable=False),  # AES-256-GCM under a key derived from the passphrase
    Column("created_at", UTCDateTime, nullable=False),
)

pkcs11_settings = Table(
    "pkcs11_settings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("module", Text, nullable=False),
    Column("token_label", String(32), nullable=True),
    Column("slot", BigInteger, nullable=True),
    Column("pin_kind", String(8), nullable=False),  # env, file or prompt: where the PIN is read, never the PIN
    Column("pin_reference", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)

hsm_keys = Table(
    "hsm_keys",
    metadata,
    Column("key_id", String(80), primary_key=True),  # pkcs11:<hex CKA_ID>
    Column("label", String(256), nullable=False),
    Column("key_type", String(16), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("public_key_der", LargeBinary, nullable=False),  # SubjectPublicKeyInfo
    Column("adopted", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# SCEP (migration 0011): RAs that answer SCEP, their one-time challenges (digests only),
# enrollment transactions (transactionID bound to a key and an RA request) and seen senderNonces.
scep_services = Table(
    "scep_services",
    metadata,
    Column("ra", String(64), ForeignKey("registration_authorities.name"), primary_key=True),
    Column("profile", String(64), nullable=False),
    Column("key_id", String(80), nullable=False),
    Column("certificate", LargeBinary, nullable=False),  # the RA certificate, DER
    Column("is_default", Boolean, nullable=False),
    Column("allow_3des", Boolean, nullable=False),
    Column("allow_des", Boolean, nullable=False),
    Column("next_ca", String(64), nullable=True),
    Column("full_chain", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
)

scep_challenges = Table(
    "scep_challenges",
    metadata,
    Column("digest", String(64), primary_key=True),  # SHA-256 of the challenge
    Column("ra", String(64), nullable=False),
    Column("subject_pattern", String(256), nullable=True),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("used_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
)

scep_transactions = Table(
    "scep_transactions",
    metadata,
    Column("ra", String(64), primary_key=True),
    Column("transaction_id", String(128), primary_key=True),
    Column("key_digest", String(64), nullable=False),
    Column("request_id", String(19), nullable=False),
    Column("message_type", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
)

scep_nonces = Table(
    "scep_nonces",
    metadata,
    Column("ra", String(64), primary_key=True),
    Column("nonce", String(128), primary_key=True),  # hex of the senderNonce: a second use is a replay
    Column("seen_at", UTCDateTime, nullable=False, index=True),
    Column("repeatable", Boolean, nullable=False),  # answered PENDING: the client may send it again
)

# ACME (migration 0012): directories and their policy, external account binding keys, accounts,
# orders, authorizations, challenges, consumed nonces, the names issued (rate limits).
acme_directories = Table(
    "acme_directories",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("ra_name", String(64), nullable=False),
    Column("profile", String(64), nullable=False),
    Column("policy", Text, nullable=False),  # JSON
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
)

acme_secrets = Table(
    "acme_secrets",
    metadata,
    Column("name", String(32), primary_key=True),  # "nonce-mac": the key every node authenticates nonces with
    Column("value_sealed", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

acme_eab_keys = Table(
    "acme_eab_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("directory", String(32), nullable=False),
    Column("hmac_sealed", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("account_id", String(32), nullable=True),  # bound once (RFC 8555 §7.3.4)
    Column("bound_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

acme_accounts = Table(
    "acme_accounts",
    metadata,
    Column("account_id", String(32), primary_key=True),
    Column("directory", String(32), nullable=False),
    Column("thumbprint", String(64), nullable=False),
    Column("jwk", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("contact", Text, nullable=False),  # JSON list
    Column("eab_kid", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("directory", "thumbprint"),
)

acme_orders = Table(
    "acme_orders",
    metadata,
    Column("order_id", String(32), primary_key=True),
    Column("account_id", String(32), nullable=False),
    Column("directory", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("identifiers", Text, nullable=False),  # JSON list of [type, value]
    Column("authz_ids", Text, nullable=False),  # JSON list
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("not_before", UTCDateTime, nullable=True),
    Column("not_after", UTCDateTime, nullable=True),
    Column("error", Text, nullable=True),
    Column("request_id", String(24), nullable=True),
    Column("ca_name", String(64), nullable=True),
    Column("serial", String(40), nullable=True),
    Column("replaces", String(200), nullable=True),
    Column("finalized_at", UTCDateTime, nullable=True),
    Index("ix_acme_orders_account_id_created_at", "account_id", "created_at"),
    Index("ix_acme_orders_status_expires_at", "status", "expires_at"),
    Index("ix_acme_orders_ca_name_serial", "ca_name", "serial"),
    Index("ix_acme_orders_replaces", "replaces"),
)

acme_authorizations = Table(
    "acme_authorizations",
    metadata,
    Column("authz_id", String(32), primary_key=True),
    Column("account_id", String(32), nullable=False),
    Column("directory", String(32), nullable=False),
    Column("identifier_type", String(8), nullable=False),
    Column("identifier_value", String(255), nullable=False),
    Column("wildcard", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_acme_authorizations_account_id_identifier_value", "account_id", "identifier_value"),
    Index("ix_acme_authorizations_status_expires_at", "status", "expires_at"),
)

acme_challenges = Table(
    "acme_challenges",
    metadata,
    Column("challenge_id", String(32), primary_key=True),
    Column("authz_id", String(32), ForeignKey("acme_authorizations.authz_id"), nullable=False),
    Column("type", String(16), nullable=False),
    Column("token", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("validated_at", UTCDateTime, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_acme_challenges_authz_id", "authz_id"),
)

acme_used_nonces = Table(
    "acme_used_nonces",
    metadata,
    Column("nonce", String(64), primary_key=True),  # unique: a nonce is redeemed once, on any node
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_acme_used_nonces_expires_at", "expires_at"),
)

acme_issued_names = Table(
    "acme_issued_names",
    metadata,
    Column("order_id", String(32), primary_key=True),
    Column("domain", String(255), primary_key=True),  # the registered domain
    Column("directory", String(32), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Index("ix_acme_issued_names_domain_issued_at", "domain", "issued_at"),
)
