"""identity's events: organisations, users, invitations, policies, profiles.
(What each consumer does with them: the services' READMEs.)"""
from marshmallow import EXCLUDE, Schema, fields, validate

from contracts.events.base import EventSchema
from contracts.vocabulary import (
    ALLOWED_RELAYS, BUDGET_PER, COMMUTE_MODES, DEFAULT_LOCALE, ORGANISATION_KINDS,
)


class OrganisationCreatedSchema(EventSchema):
    """``identity.organisation_created``."""
    organisation_id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ORGANISATION_KINDS})
    name = fields.String(required=True)
    legal_name = fields.String(allow_none=True, load_default=None)
    siret = fields.String(allow_none=True, load_default=None)
    vat_number = fields.String(allow_none=True, load_default=None)
    billing_email = fields.String(allow_none=True, load_default=None)
    billing_address = fields.String(allow_none=True, load_default=None)  # version 2


class UserContactSchema(EventSchema):
    """What other services keep of a user."""
    user_id = fields.String(required=True)
    organisation_id = fields.String(required=True)
    email = fields.String(required=True)
    full_name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    # version 2: the language the user is written to in (absent before: French),
    # and the relays a relay manager runs (notify mails them tomorrow's arrivals).
    locale = fields.String(load_default=DEFAULT_LOCALE)
    relay_ids = fields.List(fields.String(), load_default=list)


class UserProvisionedSchema(UserContactSchema):
    """``identity.user_provisioned``: a user without a password carries the
    invitation's id (never its link: notify asks identity for it when it mails)."""
    invitation_id = fields.String(load_default=None, allow_none=True)
    invitation_expires_at = fields.String(load_default=None, allow_none=True)


class UserUpdatedSchema(UserContactSchema):
    """``identity.user_updated``: e-mail, name or roles changed."""
    active = fields.Boolean(load_default=True)


class UserDeactivatedSchema(EventSchema):
    """``identity.user_deactivated``: booking cancels what the user booked,
    notify tells them."""
    user_id = fields.String(required=True)
    organisation_id = fields.String(required=True)
    deactivated_at = fields.AwareDateTime(required=True, format="iso")


class UserReactivatedSchema(EventSchema):
    """``identity.user_reactivated``: when is the envelope's ``occurred_at``."""
    user_id = fields.String(required=True)
    organisation_id = fields.String(required=True)


class InvitationIssuedSchema(EventSchema):
    """``identity.invitation_issued``: an admin sent a new invitation."""
    user_id = fields.String(required=True)
    organisation_id = fields.String(required=True)
    email = fields.String(required=True)
    full_name = fields.String(required=True)
    invitation_id = fields.String(required=True)
    invitation_expires_at = fields.String(required=True)


class PolicyChangedSchema(EventSchema):
    """``identity.policy_changed``: a corporate policy, whole."""
    organisation_id = fields.String(required=True)
    allowed_relays = fields.String(required=True, validate=validate.OneOf(ALLOWED_RELAYS))
    relay_ids = fields.List(fields.String(), load_default=list, allow_none=True)
    radius_km = fields.Integer(allow_none=True, load_default=None)
    max_days_per_month = fields.Integer(allow_none=True, load_default=None)
    booking_horizon_days = fields.Integer(allow_none=True, load_default=None)
    space_kinds = fields.List(fields.String(), allow_none=True, load_default=None)
    monthly_budget_cents = fields.Integer(allow_none=True, load_default=None)
    # version 2: whom the budget caps (an older event means the organisation)
    budget_per = fields.String(load_default="organisation", validate=validate.OneOf(BUDGET_PER))


class GroupRulesSchema(Schema):
    """One group's booking rules, as ``identity.member_policies_changed`` carries them."""
    class Meta:
        unknown = EXCLUDE

    group_id = fields.String(required=True)
    name = fields.String(required=True)
    allowed_relays = fields.String(required=True, validate=validate.OneOf(ALLOWED_RELAYS))
    relay_ids = fields.List(fields.String(), load_default=list)
    radius_km = fields.Integer(allow_none=True, load_default=None)
    max_days_per_month = fields.Integer(allow_none=True, load_default=None)
    booking_horizon_days = fields.Integer(allow_none=True, load_default=None)
    space_kinds = fields.List(fields.String(), allow_none=True, load_default=None)


class MemberPoliciesChangedSchema(EventSchema):
    """``identity.member_policies_changed``: the policies of the groups a user
    belongs to, whole (empty: the corporate policy applies). Published when a
    group's policy or a user's groups change."""
    user_id = fields.String(required=True)
    organisation_id = fields.String(required=True)
    policies = fields.List(fields.Nested(GroupRulesSchema), required=True)


class ProfileChangedSchema(EventSchema):
    """``identity.profile_changed``: an employee's profile, coordinates rounded
    to about a kilometre, and the policy home their organisation's admin set."""
    user_id = fields.String(required=True)
    organisation_id = fields.String(allow_none=True, load_default=None)
    home_commune = fields.String(allow_none=True, load_default=None)
    # Version 3: a resident's postcode (programmes may be limited to communes
    # or départements).
    home_postcode = fields.String(allow_none=True, load_default=None)
    home_latitude = fields.Float(allow_none=True, load_default=None)
    home_longitude = fields.Float(allow_none=True, load_default=None)
    usual_office = fields.String(allow_none=True, load_default=None)
    commute_km = fields.Float(allow_none=True, load_default=None)
    commute_mode = fields.String(allow_none=True, load_default=None,
                                 metadata={"enum": COMMUTE_MODES})
    # Version 2: the home a radius policy measures from, set only by the
    # organisation's admin (booking projects these, never the home above).
    policy_home_commune = fields.String(allow_none=True, load_default=None)
    policy_home_latitude = fields.Float(allow_none=True, load_default=None)
    policy_home_longitude = fields.Float(allow_none=True, load_default=None)


class SignUpRequestedSchema(EventSchema):
    """``identity.sign_up_requested``: someone signed up with this address.
    Notify mails it: the verification link (asked of identity when it sends,
    ``issue_sign_up_link``: never in an event) for a new address, or, when the
    address already has an account (``account_exists``), a mail saying so."""
    sign_up_id = fields.String(required=True)
    email = fields.String(required=True)
    full_name = fields.String(required=True)
    locale = fields.String(load_default=DEFAULT_LOCALE)
    account_exists = fields.Boolean(required=True)
    expires_at = fields.String(required=True)


class ProgrammeRulesSchema(Schema):
    """One programme's grant, as ``identity.member_programmes_changed`` carries it
    (null: no limit)."""
    class Meta:
        unknown = EXCLUDE

    programme_id = fields.String(required=True)
    name = fields.String(required=True)
    space_kinds = fields.List(fields.String(), allow_none=True, load_default=None)
    relay_ids = fields.List(fields.String(), allow_none=True, load_default=None)
    communes = fields.List(fields.String(), allow_none=True, load_default=None)
    departments = fields.List(fields.String(), allow_none=True, load_default=None)
    max_hours_per_month = fields.Integer(allow_none=True, load_default=None)
    max_days_per_month = fields.Integer(allow_none=True, load_default=None)
    valid_from = fields.String(allow_none=True, load_default=None)   # YYYY-MM-DD
    valid_until = fields.String(allow_none=True, load_default=None)
    # Whether the programme's admins may read its use per person (booking's report).
    per_person_reports = fields.Boolean(load_default=False)


class MemberProgrammesChangedSchema(EventSchema):
    """``identity.member_programmes_changed``: the programmes a resident is
    enrolled in, whole (empty: none), with where they live (a programme may be
    limited to communes or départements). Published when an enrolment starts
    or ends, a programme's grant changes, or the resident's commune or postcode."""
    user_id = fields.String(required=True)
    organisation_id = fields.String(required=True)
    home_commune = fields.String(allow_none=True, load_default=None)
    home_postcode = fields.String(allow_none=True, load_default=None)
    programmes = fields.List(fields.Nested(ProgrammeRulesSchema), required=True)
