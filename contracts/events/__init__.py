"""Every event Relais publishes: one payload schema per type, and its version.

``EVENTS`` maps a type to ``(schema, version)``: the one place a publisher dumps
with (``dump``) and a consumer loads with (``load``). Every payload schema
ignores fields it does not know, so a producer may add a field (and raise the
version) without breaking an older consumer; removing or retyping a field is a
new event type, not a new version.
"""
from contracts.events import billing, booking, identity

EVENTS = {
    "identity.organisation_created": (identity.OrganisationCreatedSchema, 2),
    "identity.user_provisioned": (identity.UserProvisionedSchema, 2),
    "identity.user_updated": (identity.UserUpdatedSchema, 2),
    "identity.user_deactivated": (identity.UserDeactivatedSchema, 1),
    "identity.user_reactivated": (identity.UserReactivatedSchema, 1),
    "identity.invitation_issued": (identity.InvitationIssuedSchema, 1),
    "identity.policy_changed": (identity.PolicyChangedSchema, 2),
    "identity.profile_changed": (identity.ProfileChangedSchema, 3),
    "identity.member_policies_changed": (identity.MemberPoliciesChangedSchema, 1),
    "identity.sign_up_requested": (identity.SignUpRequestedSchema, 1),
    "identity.member_programmes_changed": (identity.MemberProgrammesChangedSchema, 1),
    "booking.relay_created": (booking.RelayCreatedSchema, 1),
    "booking.relay_updated": (booking.RelayCreatedSchema, 1),
    "booking.space_created": (booking.SpaceCreatedSchema, 1),
    "booking.confirmed": (booking.BookingConfirmedSchema, 3),
    "booking.cancelled": (booking.BookingCancelledSchema, 3),
    "booking.checked_in": (booking.BookingCheckedInSchema, 3),
    "booking.no_show": (booking.BookingNoShowSchema, 3),
    "booking.completed": (booking.BookingCompletedSchema, 3),
    "booking.block_created": (booking.BlockCreatedSchema, 1),
    "booking.block_cancelled": (booking.BlockCancelledSchema, 1),
    "billing.rate_card_set": (billing.RateCardSetSchema, 2),
    "billing.contract_set": (billing.ContractSetSchema, 1),
    "billing.commission_set": (billing.CommissionSetSchema, 1),
    "billing.invoice_finalized": (billing.DocumentIssuedSchema, 1),
    "billing.credit_note_issued": (billing.DocumentIssuedSchema, 1),
    "billing.settlement_issued": (billing.DocumentIssuedSchema, 1),
    "billing.document_rendered": (billing.DocumentRenderedSchema, 1),
    "billing.invoice_overdue": (billing.InvoiceOverdueSchema, 1),
    "billing.payment_recorded": (billing.PaymentRecordedSchema, 1),
    "billing.settlement_accepted": (billing.SettlementReviewedSchema, 1),
    "billing.settlement_contested": (billing.SettlementReviewedSchema, 1),
}

_schemas = {event_type: schema() for event_type, (schema, _) in EVENTS.items()}


class UnknownEventType(KeyError):
    """An event type that is not in the published language."""


def schema_of(event_type):
    try:
        return _schemas[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def version_of(event_type):
    schema_of(event_type)
    return EVENTS[event_type][1]


def source_of(event_type):
    """The service that publishes ``event_type``: ``booking`` for ``booking.confirmed``."""
    return event_type.split(".", 1)[0]


def dump(event_type, obj):
    """The event's data as JSON-native values, through its contract (fields
    the contract does not name are left out)."""
    return schema_of(event_type).dump(obj)


def load(envelope):
    """The data of a received event, validated by its contract; unknown fields
    (a newer producer's) are ignored. Raises marshmallow's ValidationError."""
    return schema_of(envelope["type"]).load(envelope["data"])
