"""Identity's tables: organisations, users, their credentials (refresh tokens,
API keys, SCIM tokens, invitations), corporate policies, employee profiles, the
audit log, the log-in throttle and the keys that sign access tokens."""
from datetime import date, datetime

from sqlalchemy import (
    ARRAY, BigInteger, Boolean, CheckConstraint, Date, DateTime, Double, ForeignKey, Index, Integer,
    Text, func, text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.db import new_id, service_base

Base = service_base()



class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint("kind IN ('network', 'relay_operator', 'corporate', 'individual', "
                        "'programme')", name="kind"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    legal_name: Mapped[str | None] = mapped_column(Text)
    siret: Mapped[str | None] = mapped_column(Text)
    vat_number: Mapped[str | None] = mapped_column(Text)
    billing_email: Mapped[str | None] = mapped_column(Text)
    billing_address: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    users: Mapped[list["User"]] = relationship(back_populates="organisation")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # One live account per address, whatever its case; a deleted (SCIM DELETE)
        # account keeps its row for the audit trail and frees the address.
        Index("uq_users_email_lower", func.lower(text("email")), unique=True,
              postgresql_where=text("deleted_at IS NULL")),
        # The identity provider's own id, unique within one organisation.
        Index("uq_users_organisation_external_id", "organisation_id", "external_id",
              unique=True, postgresql_where=text("external_id IS NOT NULL AND deleted_at IS NULL")),
        # A SCIM userName that is not the e-mail (Keycloak's "jdoe"), unique
        # within one organisation, whatever its case.
        Index("uq_users_organisation_user_name", "organisation_id", func.lower(text("user_name")),
              unique=True, postgresql_where=text("user_name IS NOT NULL AND deleted_at IS NULL")),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str] = mapped_column(Text)
    given_name: Mapped[str | None] = mapped_column(Text)
    family_name: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    user_name: Mapped[str | None] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    relay_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    # The language they are written to in (contracts.vocabulary.LOCALES); SCIM's
    # preferredLanguage.
    locale: Mapped[str] = mapped_column(Text, server_default=text("'fr'"))
    password_hash: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    provisioned_via: Mapped[str] = mapped_column(Text, server_default=text("'api'"))
    # SCIM attributes Relais does not use, kept as the identity provider sent them
    # (scim_protocol.py): title, phoneNumbers, the enterprise extension...
    scim_attributes: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation] = relationship(back_populates="users")


class Group(Base):
    """A group an organisation's identity provider pushes over SCIM (/Groups).
    Display names are unique within the organisation, whatever their case: both
    Entra ID and Okta match groups on them."""
    __tablename__ = "groups"
    __table_args__ = (
        Index("uq_groups_organisation_display_name", "organisation_id",
              func.lower(text("display_name")), unique=True),
        Index("uq_groups_organisation_external_id", "organisation_id", "external_id",
              unique=True, postgresql_where=text("external_id IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    display_name: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RefreshToken(Base):
    """An opaque refresh token, stored as its SHA-256. Each use rotates it within
    its family; presenting a used one again revokes the whole family."""
    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    family_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MachineCredential(Base):
    """An API key (a company's HR system, a relay's tools) or a SCIM token (an
    identity provider): an opaque secret shown once, stored as its SHA-256."""
    __tablename__ = "machine_credentials"
    __table_args__ = (
        CheckConstraint("kind IN ('api_key', 'scim_token')", name="kind"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    secret_hash: Mapped[str] = mapped_column(Text, unique=True)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    relay_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Invitation(Base):
    """A single-use, expiring link to set one user's password. The token is
    minted when the mail is sent (``invitations.issue_link``), stored as its
    SHA-256; null until then."""
    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str | None] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignUp(Base):
    """A resident's self sign-up, waiting for its e-mail to be verified. The
    account (an individual organisation and its member) is made only when the
    link is used (``sign_ups.verify``), from what is kept here: the password's
    argon2 hash, never the password. An address that already had an account
    gets a row too (``existing_user_id``), so both answers cost the same, but
    no link: notify mails that person that they already have an account. The
    token is minted when notify sends the mail and stored as its SHA-256."""
    __tablename__ = "sign_ups"

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(Text, server_default=text("'fr'"))
    home_postcode: Mapped[str] = mapped_column(Text)
    home_commune: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(Text)
    existing_user_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    token_hash: Mapped[str | None] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))  # the account it made


class Programme(Base):
    """What a programme (an organisation of kind ``programme``: a département,
    a health insurer...) grants the residents it enrols: which kinds of space,
    which relays, how many hours and days a month each, from when to when, and
    to residents of which communes or départements (null: no limit). Booking
    enforces it (``identity.member_programmes_changed``); billing invoices the
    programme for what its residents book under it."""
    __tablename__ = "programmes"

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"),
                                                 primary_key=True)
    funder: Mapped[str] = mapped_column(Text, server_default=text("'other'"))
    space_kinds: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    relay_ids: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    communes: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    departments: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    max_hours_per_month: Mapped[int | None] = mapped_column(Integer)
    max_days_per_month: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # Whether its admins may read use per person (else per relay and month only).
    per_person_reports: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # The invitation code residents type to join (shown once; SHA-256 here).
    code_hash: Mapped[str | None] = mapped_column(Text, unique=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class Enrolment(Base):
    """A resident in a programme, by their e-mail address: enrolled by the
    programme's admins (the address need not have an account yet: it counts
    once it does, so the answer tells nobody who has one) or by the resident
    typing the programme's code. Ended, it stays for the record."""
    __tablename__ = "enrolments"
    __table_args__ = (
        Index("uq_enrolments_live", "programme_id", "email_lower", unique=True,
              postgresql_where=text("ended_at IS NULL")),
        Index("ix_enrolments_email_lower", "email_lower"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    programme_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    email_lower: Mapped[str] = mapped_column(Text)
    via: Mapped[str] = mapped_column(Text)          # admin | code
    enrolled_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BookingRules:
    """What a policy lets people book (a corporate policy's, a group's)."""
    allowed_relays: Mapped[str] = mapped_column(Text, server_default=text("'all'"))
    relay_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    radius_km: Mapped[int | None] = mapped_column(Integer)
    max_days_per_month: Mapped[int | None] = mapped_column(Integer)
    booking_horizon_days: Mapped[int | None] = mapped_column(Integer)
    space_kinds: Mapped[list[str] | None] = mapped_column(ARRAY(Text))


class CorporatePolicy(BookingRules, Base):
    """What a corporate account lets its employees book."""
    __tablename__ = "corporate_policies"
    __table_args__ = (
        CheckConstraint("allowed_relays IN ('all', 'list', 'radius')", name="allowed_relays"),
    )

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    monthly_budget_cents: Mapped[int | None] = mapped_column(BigInteger)
    budget_per: Mapped[str] = mapped_column(Text, server_default=text("'organisation'"))
    updated_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class EmployeeProfile(Base):
    """Where an employee lives and how they commute, for the impact figures.
    Coordinates are stored already rounded to 2 decimals (about 1 km)."""
    __tablename__ = "employee_profiles"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    home_commune: Mapped[str | None] = mapped_column(Text)
    # A resident's postcode (given at sign-up): programmes may be limited to
    # communes or départements.
    home_postcode: Mapped[str | None] = mapped_column(Text)
    home_latitude: Mapped[float | None] = mapped_column(Double)
    home_longitude: Mapped[float | None] = mapped_column(Double)
    usual_office: Mapped[str | None] = mapped_column(Text)
    commute_km: Mapped[float | None] = mapped_column(Double)
    commute_mode: Mapped[str | None] = mapped_column(Text)
    # The home a radius policy measures from: set only by the organisation's
    # admin (who, and when, kept here and in the audit log), never by the
    # employee editing their own profile.
    policy_home_commune: Mapped[str | None] = mapped_column(Text)
    policy_home_latitude: Mapped[float | None] = mapped_column(Double)
    policy_home_longitude: Mapped[float | None] = mapped_column(Double)
    policy_home_set_by: Mapped[str | None] = mapped_column(Text)
    policy_home_set_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class AuditEntry(Base):
    """One administrative change: who (a user, an API key, a SCIM token), what, when.
    ``details`` never holds a secret."""
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_organisation_at", "organisation_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    organisation_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    actor_id: Mapped[str] = mapped_column(Text)
    actor_kind: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target_type: Mapped[str] = mapped_column(Text)
    target_id: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SigningKey(Base):
    """Private keys for access tokens. The newest signs; all verify until removed,
    so a rotation never invalidates tokens already issued."""
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(Text, primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class GroupPolicy(BookingRules, Base):
    """The booking rules of a group's members (a corporate admin maps a group
    to them); a member of no such group books under the corporate policy."""
    __tablename__ = "group_policies"
    __table_args__ = (
        CheckConstraint("allowed_relays IN ('all', 'list', 'radius')",
                        name="group_allowed_relays"),
    )

    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    updated_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class SsoConnection(Base):
    """A corporate account's OpenID Connect provider (sso.py). The client
    secret is kept encrypted (sso_secrets.py) and never returned; the
    provider's endpoints are read from its discovery document when the
    settings are saved."""
    __tablename__ = "sso_connections"

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    issuer: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(Text)
    client_secret_encrypted: Mapped[str] = mapped_column(Text)
    authorization_endpoint: Mapped[str] = mapped_column(Text)
    token_endpoint: Mapped[str] = mapped_column(Text)
    jwks_uri: Mapped[str] = mapped_column(Text)
    passwords_allowed: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    updated_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class SsoDomain(Base):
    """An e-mail domain a connection covers: the primary key makes a domain
    belong to one organisation only."""
    __tablename__ = "sso_domains"

    domain: Mapped[str] = mapped_column(Text, primary_key=True)
    organisation_id: Mapped[str] = mapped_column(
        ForeignKey("sso_connections.organisation_id", ondelete="CASCADE"), index=True)
