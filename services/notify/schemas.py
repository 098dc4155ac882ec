"""Notify's contract."""
from marshmallow import Schema, fields, validate, EXCLUDE


class DeliverySchema(Schema):
    id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    channel = fields.String()
    recipient = fields.String()
    subject = fields.String()
    message_id = fields.String()
    sent_at = fields.AwareDateTime()


class DeliveryQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0))
