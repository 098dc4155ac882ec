"""notify's RPCs: what they accept and return."""
from marshmallow import Schema, fields

from common.schemas import PageQuerySchema


class DeliverySchema(Schema):
    id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    channel = fields.String()
    recipient = fields.String()
    subject = fields.String()
    message_id = fields.String()
    sent_at = fields.AwareDateTime()


class DeliveryQuerySchema(PageQuerySchema):
    """A page of deliveries, newest first."""
