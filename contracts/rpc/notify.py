"""notify's RPCs: what they accept and return."""
from marshmallow import Schema, fields, validate

from common.schemas import JsonBoolean, PageQuerySchema
from contracts.events import EVENTS
from contracts.vocabulary import MAIL_CATEGORIES


class DeliverySchema(Schema):
    id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    channel = fields.String()
    recipient = fields.String()
    subject = fields.String()
    message_id = fields.String()
    sent_at = fields.AwareDateTime()
    state = fields.String(metadata={
        "enum": ["handed_over", "sent"],
        "description": "sent: the mail server accepted it (250); handed_over: notify "
                       "wrote the whole mail but never read the server's answer (it "
                       "was stopped, or the connection broke): most likely delivered, "
                       "and never sent again"})


class DeliveryQuerySchema(PageQuerySchema):
    """A page of deliveries, newest first."""


# -- preferences -----------------------------------------------------------------

class NotificationPreferenceSchema(Schema):
    category = fields.String(metadata={"enum": list(MAIL_CATEGORIES)})
    enabled = fields.Boolean()
    mandatory = fields.Boolean(metadata={
        "description": "Security, invoicing and changes to one's bookings cannot be turned off."})


NotificationPreferencesUpdateSchema = Schema.from_dict(
    {category: fields.Boolean() for category in MAIL_CATEGORIES},
    name="NotificationPreferencesUpdateSchema")
NotificationPreferencesUpdateSchema.__doc__ = (
    "The categories to turn on (true) or off (false); the others stay as they are.")


# -- webhooks -------------------------------------------------------------------

WEBHOOK_URL = {"pattern": r"^https://[^\s/?#@]+([/?#]\S*)?$",
               "description": "https, no credentials; its host must resolve to public "
                              "addresses only (checked when saved, 422 unsafe-webhook-url). "
                              "A development network also takes http to 127.0.0.1."}

# What an endpoint may subscribe to: every event, every event of a source, or
# one event type (notify checks it: webhook_rules.valid_pattern).
EVENT_PATTERNS = ["*", *sorted({f"{event_type.split('.')[0]}.*" for event_type in EVENTS}),
                  *sorted(EVENTS)]


def _event_patterns(**kwargs):
    return fields.List(fields.String(validate=validate.Length(1, 100),
                                     metadata={"enum": EVENT_PATTERNS}),
                       validate=validate.Length(1, 50), **kwargs)


class WebhookEndpointCreateSchema(Schema):
    """A new endpoint: an https URL and the event types it wants (``booking.*``, ``*``)."""
    url = fields.String(required=True, validate=validate.Length(1, 2000), metadata=WEBHOOK_URL)
    event_types = _event_patterns(required=True)
    description = fields.String(load_default="", validate=validate.Length(0, 500))
    enabled = JsonBoolean(load_default=True)


class WebhookEndpointUpdateSchema(Schema):
    url = fields.String(validate=validate.Length(1, 2000), metadata=WEBHOOK_URL)
    event_types = _event_patterns()
    description = fields.String(validate=validate.Length(0, 500))
    enabled = JsonBoolean()


class WebhookEndpointSchema(Schema):
    id = fields.String(dump_only=True)
    organisation_id = fields.String(dump_only=True)
    scope = fields.String(dump_only=True, metadata={
        "description": "network, company or relay_operator: which events it may receive"})
    url = fields.String()
    event_types = fields.List(fields.String())
    description = fields.String()
    enabled = fields.Boolean()
    disabled_reason = fields.String(allow_none=True, dump_only=True)
    failing_since = fields.AwareDateTime(allow_none=True, dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    secret = fields.String(dump_only=True, metadata={
        "description": "whsec_...: only in the answer to a creation or a rotation"})


class WebhookRotateSchema(Schema):
    grace_seconds = fields.Integer(load_default=86400, validate=validate.Range(0, 7 * 86400),
                                   metadata={"description": "how long the old secret still signs"})


class WebhookAttemptSchema(Schema):
    attempted_at = fields.AwareDateTime()
    status_code = fields.Integer(allow_none=True)
    latency_ms = fields.Integer()
    response_excerpt = fields.String()
    error = fields.String(allow_none=True)


class WebhookDeliverySchema(Schema):
    id = fields.String(metadata={"description": "the webhook-id header, stable across retries"})
    event_id = fields.String()
    event_type = fields.String()
    occurred_at = fields.AwareDateTime()
    status = fields.String(metadata={"description": "pending, succeeded or failed"})
    attempts = fields.Integer()
    next_attempt_at = fields.AwareDateTime()
    last_status_code = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()
    attempt_log = fields.List(fields.Nested(WebhookAttemptSchema))


class WebhookDeliveryQuerySchema(PageQuerySchema):
    """A page of an endpoint's deliveries, newest first."""
    status = fields.String(validate=validate.OneOf(("pending", "succeeded", "failed")))


class WebhookReplaySchema(Schema):
    """Send again every delivery of the endpoint whose event happened in [since, until)."""
    since = fields.AwareDateTime(required=True)
    until = fields.AwareDateTime(required=True)


class WebhookReplayedSchema(Schema):
    replayed = fields.Integer()
