"""What every event payload schema shares."""
from marshmallow import EXCLUDE, Schema


class EventSchema(Schema):
    """A consumer ignores the fields it does not know: a producer may add one
    (a new version) without breaking it."""

    class Meta:
        unknown = EXCLUDE
