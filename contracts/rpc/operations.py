"""RPCs every service answers, for the network's team (common/service.py)."""
from marshmallow import Schema, fields


class DeadLetterSampleSchema(Schema):
    event_id = fields.String(allow_none=True)
    event_type = fields.String(allow_none=True)
    occurred_at = fields.String(allow_none=True)
    attempts = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True, metadata={
        "description": "The handler's last error, cut to 300 characters."})


class DeadLetterQueueSchema(Schema):
    """One consumer's dead-letter queue: events its handler gave up on after
    every retry, waiting for ops to replay them (python -m common.deadletters)."""
    service = fields.String()
    queue = fields.String(allow_none=True, metadata={
        "description": "null when the service did not answer (unavailable is true)"})
    depth = fields.Integer(allow_none=True)
    samples = fields.List(fields.Nested(DeadLetterSampleSchema), metadata={
        "description": "The first messages (at most 3), left in the queue."})
    unavailable = fields.Boolean(dump_default=False)
