"""identity's RPCs: what they accept and return. (Its event payloads are in
``contracts.events.identity``.)"""
from marshmallow import (
    EXCLUDE, Schema, ValidationError, fields, validate, validates_schema,
)

from common.schemas import PageQuerySchema, bounded_date
from contracts.vocabulary import (
    ALLOWED_RELAYS, BUDGET_PER, COMMUTE_MODES, DEFAULT_LOCALE, LOCALES, ORGANISATION_KINDS,
    PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, PASSWORD_POLICY, PROGRAMME_FUNDERS, ROLES,
    SPACE_KINDS,
)

MAX_CSV_BYTES = 1024 * 1024
PASSWORD_LENGTH = validate.Length(
    PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH,
    error=f"A password has {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters.")


def new_password(**kwargs):
    """A password someone chooses: its length here, the rest of the policy in
    identity; ``format: password`` and the policy in words in the document."""
    return fields.String(load_only=True, validate=PASSWORD_LENGTH, metadata={
        "format": "password", "description": PASSWORD_POLICY}, **kwargs)


# Organisations --------------------------------------------------------------

# What a corporate account must have to be invoiced; other kinds may leave it out.
REQUIRED_FOR_CORPORATE = ("legal_name", "siret", "billing_email")


class OrganisationSchema(Schema):
    id = fields.String(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    legal_name = fields.String(load_default=None, validate=validate.Length(1, 200))
    siret = fields.String(load_default=None, validate=validate.Regexp(
        r"^\d{14}$", error="A SIRET has 14 digits."))
    vat_number = fields.String(load_default=None, validate=validate.Regexp(
        r"^[A-Z]{2}[0-9A-Z]{2,13}$", error="An intra-EU VAT number, e.g. FR40303265045."))
    billing_email = fields.Email(load_default=None)
    billing_address = fields.String(load_default=None, validate=validate.Length(1, 500))
    created_at = fields.AwareDateTime(dump_only=True)

    # The rule below, as the OpenAPI document states it (gateway/openapi.py).
    JSON_SCHEMA_RULES = {
        "description": "A corporate account needs " + ", ".join(REQUIRED_FOR_CORPORATE)
                       + " (it is invoiced); other kinds may leave them out.",
        "oneOf": [
            {"properties": {"kind": {"enum": ["corporate"]},
                            **{name: {"type": "string"} for name in REQUIRED_FOR_CORPORATE}},
             "required": ["kind", *REQUIRED_FOR_CORPORATE]},
            {"properties": {"kind": {"enum": [kind for kind in ORGANISATION_KINDS
                                              if kind != "corporate"]}},
             "required": ["kind"]},
        ],
    }

    @validates_schema(skip_on_field_errors=False)
    def corporate_accounts_are_invoiced(self, data, **kwargs):
        if data.get("kind") == "corporate":
            missing = [name for name in REQUIRED_FOR_CORPORATE if not data.get(name)]
            if missing:
                raise ValidationError({name: ["Required for a corporate account."]
                                       for name in missing})


class OrganisationListQuerySchema(PageQuerySchema):
    kind = fields.String(validate=validate.OneOf(ORGANISATION_KINDS))


# Users ----------------------------------------------------------------------

class UserCreateSchema(Schema):
    email = fields.Email(required=True)
    full_name = fields.String(required=True, validate=validate.Length(1, 200))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), load_default=["member"],
                        validate=validate.Length(min=1))
    relay_ids = fields.List(fields.UUID(), load_default=list)
    external_id = fields.String(load_default=None, validate=validate.Length(1, 200))
    password = new_password(load_default=None)
    locale = fields.String(load_default=DEFAULT_LOCALE, validate=validate.OneOf(LOCALES),
                           metadata={"description": "The language mails are written in."})


class UserLocaleSchema(Schema):
    locale = fields.String(required=True, validate=validate.OneOf(LOCALES),
                           metadata={"description": "The language mails are written in."})


class UserSchema(Schema):
    id = fields.String()
    organisation_id = fields.String()
    email = fields.String()
    full_name = fields.String()
    external_id = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    relay_ids = fields.List(fields.String())
    locale = fields.String()
    active = fields.Boolean()
    password_set = fields.Method("has_password", metadata={
        "description": "False while the user has not yet accepted their invitation."})
    provisioned_via = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    deactivated_at = fields.AwareDateTime(allow_none=True)

    def has_password(self, user):
        return user.password_hash is not None


class UserListQuerySchema(PageQuerySchema):
    email = fields.String(validate=validate.Length(1, 320))
    active = fields.Boolean()


# Log-in, refresh, invitations ------------------------------------------------

class TokenRequestSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(1, 256))


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer(metadata={"description": "Seconds the access token lasts."})
    refresh_token = fields.String(metadata={
        "description": "Opaque; single use: each refresh returns a new one."})
    refresh_expires_in = fields.Integer()


class RefreshRequestSchema(Schema):
    refresh_token = fields.String(required=True, load_only=True, validate=validate.Length(1, 200))


class PasswordSetSchema(Schema):
    """Accept an invitation: its token and the new password."""
    token = fields.String(required=True, load_only=True, validate=validate.Length(1, 200))
    password = new_password(required=True)


# Residents' sign-up ------------------------------------------------------------

POSTCODE = validate.Regexp(r"^(?:[0-9]{5}|2[AB][0-9]{3})$",
                           error="A French postcode: 5 digits (2A/2B for Corsica).")


class SignUpSchema(Schema):
    """A resident signs up: an individual account, made once the e-mail is verified."""
    email = fields.Email(required=True)
    password = new_password(required=True)
    full_name = fields.String(required=True, validate=validate.Length(1, 200))
    postcode = fields.String(required=True, validate=POSTCODE, metadata={
        "description": "Where the resident lives: programmes may be limited to communes "
                       "or départements."})
    commune = fields.String(required=True, validate=validate.Length(1, 100))
    locale = fields.String(load_default=DEFAULT_LOCALE, validate=validate.OneOf(LOCALES))


class SignUpAcceptedSchema(Schema):
    """The same answer whatever the address: nobody learns who has an account."""
    status = fields.String(metadata={"enum": ["check-your-mail"]})
    detail = fields.String()


class EmailVerificationSchema(Schema):
    """The token of a sign-up's verification link (single use)."""
    token = fields.String(required=True, load_only=True, validate=validate.Length(1, 200))


# Programmes ----------------------------------------------------------------------

DEPARTMENT = validate.Regexp(r"^(?:[0-9]{2}|2[AB]|97[0-9])$",
                             error="A département's code: 23, 2A, 974...")


class ProgrammeSchema(Schema):
    """What a programme grants the residents it enrols; null: no limit."""
    organisation_id = fields.String(dump_only=True)
    funder = fields.String(load_default="other", validate=validate.OneOf(PROGRAMME_FUNDERS))
    space_kinds = fields.List(fields.String(validate=validate.OneOf(SPACE_KINDS)),
                              load_default=None, allow_none=True,
                              validate=validate.Length(min=1), metadata={
                                  "description": "null: every kind of space."})
    relay_ids = fields.List(fields.UUID(), load_default=None, allow_none=True,
                            validate=validate.Length(min=1),
                            metadata={"description": "null: every relay."})
    communes = fields.List(fields.String(validate=validate.Length(1, 100)), load_default=None,
                           allow_none=True, validate=validate.Length(min=1), metadata={
                               "description": "Residents of these communes (any case); with "
                                              "departments, either one qualifies; both null: "
                                              "anyone."})
    departments = fields.List(fields.String(validate=DEPARTMENT), load_default=None,
                              allow_none=True, validate=validate.Length(min=1))
    max_hours_per_month = fields.Integer(load_default=None, allow_none=True,
                                         validate=validate.Range(1, 744), metadata={
                                             "description": "Per resident; a desk's half-day "
                                                            "counts its hours."})
    max_days_per_month = fields.Integer(load_default=None, allow_none=True,
                                        validate=validate.Range(1, 31))
    valid_from = bounded_date(load_default=None, allow_none=True)
    valid_until = bounded_date(load_default=None, allow_none=True,
                              metadata={"description": "Included; null: open."})
    per_person_reports = fields.Boolean(load_default=False, metadata={
        "description": "Whether the programme's admins read use per person (else per relay "
                       "and month only)."})
    updated_at = fields.AwareDateTime(dump_only=True, allow_none=True)

    @validates_schema
    def a_period(self, data, **kwargs):
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            raise ValidationError({"valid_until": ["On or after valid_from."]})


class ProgrammeCodeSchema(Schema):
    """A programme's invitation code, shown once: residents type it to join."""
    code = fields.String(dump_only=True)


class JoinProgrammeSchema(Schema):
    code = fields.String(required=True, load_only=True, validate=validate.Length(1, 200))


class EnrolmentCreateSchema(Schema):
    email = fields.Email(required=True)


class EnrolmentSchema(Schema):
    id = fields.String(dump_only=True)
    programme_id = fields.String(dump_only=True)
    email = fields.String(dump_only=True, attribute="email_lower")
    via = fields.String(dump_only=True, metadata={"enum": ["admin", "code"]})
    created_at = fields.AwareDateTime(dump_only=True)
    ended_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class EnrolmentListQuerySchema(PageQuerySchema):
    active = fields.Boolean()


# Corporate policy and employee profile ---------------------------------------

class BookingRulesSchema(Schema):
    """What a policy lets people book: which relays, how often, how far ahead,
    which kinds of space. A corporate policy adds the budget; a group's policy
    is these rules alone."""
    allowed_relays = fields.String(load_default="all",
                                   validate=validate.OneOf(ALLOWED_RELAYS))
    relay_ids = fields.List(fields.UUID(), load_default=list)
    radius_km = fields.Integer(load_default=None, allow_none=True,
                               validate=validate.Range(1, 500))
    max_days_per_month = fields.Integer(load_default=None, allow_none=True,
                                        validate=validate.Range(1, 31))
    booking_horizon_days = fields.Integer(load_default=None, allow_none=True,
                                          validate=validate.Range(1, 365))
    space_kinds = fields.List(fields.String(validate=validate.OneOf(SPACE_KINDS)),
                              load_default=None, allow_none=True,
                              validate=validate.Length(
                                  min=1, error="null for every kind, or at least one."),
                              metadata={"description": "null: every kind of space."})
    # null while the organisation never set a policy (everything is allowed)
    updated_by = fields.String(dump_only=True, allow_none=True)
    updated_at = fields.AwareDateTime(dump_only=True, allow_none=True)

    @validates_schema
    def consistent(self, data, **kwargs):
        mode = data.get("allowed_relays", "all")
        if mode == "list" and not data.get("relay_ids"):
            raise ValidationError({"relay_ids": ["Name at least one relay for a list."]})
        if mode != "list" and data.get("relay_ids"):
            raise ValidationError({"relay_ids": ["Only with allowed_relays = list."]})
        if mode == "radius" and data.get("radius_km") is None:
            raise ValidationError({"radius_km": ["Required with allowed_relays = radius."]})
        if mode != "radius" and data.get("radius_km") is not None:
            raise ValidationError({"radius_km": ["Only with allowed_relays = radius."]})


class PolicySchema(BookingRulesSchema):
    organisation_id = fields.String(dump_only=True)
    monthly_budget_cents = fields.Integer(load_default=None, allow_none=True,
                                          validate=validate.Range(0, 10**12),
                                          metadata={"description": "Excluding VAT, in cents; "
                                                    "null: no budget."})
    budget_per = fields.String(load_default="organisation", validate=validate.OneOf(BUDGET_PER),
                               metadata={"description": "Whom the monthly budget caps: the "
                                         "whole organisation, or each member."})


class GroupPolicySchema(BookingRulesSchema):
    """A group's policy: its members book under it instead of the corporate
    policy's rules (the budget stays the organisation's)."""
    group_id = fields.String(dump_only=True)
    group_name = fields.String(dump_only=True)


class GroupSchema(Schema):
    """A group the organisation's identity provider pushed over SCIM."""
    id = fields.String(dump_only=True)
    display_name = fields.String(dump_only=True)
    external_id = fields.String(dump_only=True, allow_none=True)
    members = fields.Integer(dump_only=True, metadata={"description": "How many users."})
    policy = fields.Nested(GroupPolicySchema, dump_only=True, allow_none=True,
                           metadata={"description": "null: its members book under the "
                                                    "corporate policy."})


class ProfileSchema(Schema):
    user_id = fields.String(dump_only=True)
    organisation_id = fields.String(dump_only=True)
    home_commune = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Length(1, 100))
    home_postcode = fields.String(load_default=None, allow_none=True, validate=POSTCODE)
    home_latitude = fields.Float(load_default=None, allow_none=True,
                                 validate=validate.Range(-90, 90), metadata={
                                     "description": "Stored rounded to 2 decimals (about 1 km)."})
    home_longitude = fields.Float(load_default=None, allow_none=True,
                                  validate=validate.Range(-180, 180))
    usual_office = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Length(1, 200))
    commute_km = fields.Float(load_default=None, allow_none=True,
                              validate=validate.Range(0, 1000),
                              metadata={"description": "One way, home to usual office."})
    commute_mode = fields.String(load_default=None, allow_none=True,
                                 validate=validate.OneOf(COMMUTE_MODES))
    # null in a profile nobody has saved yet, and until an admin saves one
    policy_home_commune = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "The home a radius policy measures from: set when the organisation's "
                       "admin saves the profile, never by the employee."})
    policy_home_latitude = fields.Float(dump_only=True, allow_none=True)
    policy_home_longitude = fields.Float(dump_only=True, allow_none=True)
    policy_home_set_by = fields.String(dump_only=True, allow_none=True)
    policy_home_set_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    updated_at = fields.AwareDateTime(dump_only=True, allow_none=True)

    @validates_schema
    def both_coordinates(self, data, **kwargs):
        if (data.get("home_latitude") is None) != (data.get("home_longitude") is None):
            raise ValidationError({"home_longitude": ["Give both coordinates or neither."]})


# API keys and SCIM tokens -------------------------------------------------------

class ApiKeyCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    roles = fields.List(fields.String(validate=validate.OneOf(
        ("corporate_admin", "relay_manager", "network_ops"))),
        required=True, validate=validate.Length(min=1))
    relay_ids = fields.List(fields.UUID(), load_default=list)


class ScimTokenCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 100))


class MachineCredentialSchema(Schema):
    id = fields.String()
    organisation_id = fields.String()
    kind = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())
    relay_ids = fields.List(fields.String())
    created_by = fields.String()
    created_at = fields.AwareDateTime()
    last_used_at = fields.AwareDateTime(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)
    secret = fields.String(metadata={
        "description": "Only in the answer that creates it: store it now, it is never shown again."})


# CSV import ----------------------------------------------------------------

class CsvImportSchema(Schema):
    csv = fields.String(required=True, validate=validate.Length(1, MAX_CSV_BYTES))


class CsvImportQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    dry_run = fields.Boolean(load_default=False)


class CsvRowErrorSchema(Schema):
    line = fields.Integer()
    field = fields.String(allow_none=True)
    message = fields.String()


class CsvImportReportSchema(Schema):
    dry_run = fields.Boolean()
    applied = fields.Boolean()
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    deactivated = fields.Integer()
    reactivated = fields.Integer()
    unchanged = fields.Integer()
    errors = fields.List(fields.Nested(CsvRowErrorSchema))


# Audit log -----------------------------------------------------------------------

class AuditEntrySchema(Schema):
    id = fields.Integer()
    organisation_id = fields.String()
    actor_id = fields.String()
    actor_kind = fields.String()
    action = fields.String()
    target_type = fields.String()
    target_id = fields.String(allow_none=True)
    details = fields.Dict()
    at = fields.AwareDateTime()


class AuditQuerySchema(PageQuerySchema):
    action = fields.String(validate=validate.Length(1, 100))


class InvitationSchema(Schema):
    """The answer to re-sending an invitation: never the link itself (it goes
    to the user's mailbox only)."""
    user_id = fields.String()
    invitation_expires_at = fields.String()


# Single sign-on (OpenID Connect) ----------------------------------------------

class SsoSettingsSchema(Schema):
    """A corporate account's OpenID Connect provider. The client secret is
    written, never read back."""
    organisation_id = fields.String(dump_only=True)
    issuer = fields.Url(required=True, schemes={"https", "http"}, require_tld=False,
                        validate=validate.Length(max=500), metadata={
                            "description": "The provider's issuer; its discovery document "
                                           "(/.well-known/openid-configuration) is read when "
                                           "the settings are saved. https (plain http only to "
                                           "loopback, in development)."})
    client_id = fields.String(required=True, validate=validate.Length(1, 500))
    client_secret = fields.String(load_default=None, load_only=True,
                                  validate=validate.Length(1, 1000), metadata={
                                      "description": "Required the first time; omitted, the "
                                                     "current one is kept. Never returned."})
    client_secret_set = fields.Boolean(dump_only=True)
    domains = fields.List(fields.String(validate=validate.Length(1, 253)), required=True,
                          validate=validate.Length(1, 50), metadata={
                              "description": "The e-mail domains it covers; a domain belongs "
                                             "to one organisation only (409 otherwise)."})
    passwords_allowed = fields.Boolean(load_default=True, metadata={
        "description": "false: the organisation's users may not log in with a password."})
    redirect_uris = fields.List(fields.String(), dump_only=True, metadata={
        "description": "The redirect URIs to register at the provider."})
    updated_at = fields.AwareDateTime(dump_only=True)


class SsoDiscoverQuerySchema(Schema):
    email = fields.Email(required=True)


class SsoDiscoverySchema(Schema):
    """Whether single sign-on applies to an e-mail's domain (never whether an
    account exists)."""
    sso = fields.Boolean()
    passwords_allowed = fields.Boolean()


class SsoStartQuerySchema(Schema):
    email = fields.Email(required=True)
    redirect_uri = fields.String(load_default=None, validate=validate.Length(1, 500), metadata={
        "description": "Where the provider sends the person back: the API's "
                       "/v1/sso/callback (the default) or the web pages' /sso/callback."})


class SsoBeginSchema(Schema):
    """identity's answer to ``sso_begin``: where to send the browser, and what
    the gateway keeps (server-side, single use) until the callback."""
    authorization_url = fields.String(required=True)
    state = fields.String(required=True)
    nonce = fields.String(required=True)
    code_verifier = fields.String(required=True)
    organisation_id = fields.String(required=True)
    redirect_uri = fields.String(required=True)


class SsoCallbackQuerySchema(Schema):
    """What the provider appends to the redirect URI (RFC 6749 4.1.2, RFC 9207's
    ``iss``); other parameters (Entra ID's ``session_state``) are ignored."""
    class Meta:
        unknown = EXCLUDE

    state = fields.String(required=True, validate=validate.Length(1, 200))
    code = fields.String(load_default=None, validate=validate.Length(1, 4000))
    iss = fields.String(load_default=None, validate=validate.Length(1, 500))
    error = fields.String(load_default=None, validate=validate.Length(1, 200))
    error_description = fields.String(load_default=None, validate=validate.Length(1, 1000))


class SsoCompleteSchema(Schema):
    """The gateway's call once the state was found (and used up)."""
    organisation_id = fields.String(required=True, validate=validate.Length(1, 64))
    code = fields.String(required=True, validate=validate.Length(1, 4000))
    code_verifier = fields.String(required=True, validate=validate.Length(43, 128))
    nonce = fields.String(required=True, validate=validate.Length(1, 200))
    redirect_uri = fields.String(required=True, validate=validate.Length(1, 500))
    iss = fields.String(load_default=None, validate=validate.Length(1, 500))
