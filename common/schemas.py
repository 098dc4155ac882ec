"""marshmallow pieces every service's contract shares: a page of a list, and
dates bounded to a window the code can compute with.

Unbounded input reaches arithmetic that overflows (``date(9999, 12, 31) +
timedelta(days=1)``, an OFFSET past PostgreSQL's bigint) and turns bad input
into a 500; these bounds make it a 422 naming the field instead.
"""
import re
from datetime import date

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

# Dates a request may name: far enough for any booking, closure or invoice,
# near enough that a few weeks either side stay within Python's and
# PostgreSQL's calendars.
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2100, 12, 31)
MAX_OFFSET = 10 ** 6
DATE_RANGE = validate.Range(FIRST_DATE, LAST_DATE,
                            error=f"A date between {FIRST_DATE} and {LAST_DATE}.")
# The same windows as JSON Schema patterns, for the OpenAPI document: JSON
# Schema bounds only numbers, so a date's years are bounded by its pattern
# (with format: date, which rules out 2027-02-30). tests/unit/test_openapi.py
# holds them to FIRST_DATE and LAST_DATE.
_YEARS = r"(20\d\d|2100)"
DATE_PATTERN = rf"^{_YEARS}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
MONTH_PATTERN = rf"^{_YEARS}-(0[1-9]|1[0-2])$"


# ISO 8601's extended format, the only one taken: Python alone would also read
# "20270105" (basic) and "2027-W01-2" (a week date) as 5 January 2027.
EXTENDED_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EXTENDED_MONTH = re.compile(r"\d{4}-\d{2}")


class BoundedDate(fields.Date):
    """The one date field of every contract: ``YYYY-MM-DD`` within
    [FIRST_DATE, LAST_DATE], anything else a 422 naming the field."""
    default_error_messages = {"invalid": "A date written YYYY-MM-DD (ISO 8601)."}

    def __init__(self, **kwargs):
        super().__init__(validate=DATE_RANGE, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not EXTENDED_DATE.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


bounded_date = BoundedDate  # the name the contracts import


def check_month(value):
    """``YYYY-MM`` with a year within the date window."""
    if not isinstance(value, str) or not EXTENDED_MONTH.fullmatch(value) or \
            not FIRST_DATE.year <= int(value[:4]) <= LAST_DATE.year or \
            not 1 <= int(value[5:]) <= 12:
        raise ValidationError(f"A month YYYY-MM between {FIRST_DATE:%Y-%m} and "
                              f"{LAST_DATE:%Y-%m}.")


class JsonBoolean(fields.Boolean):
    """true or false in a JSON body, as the document says (marshmallow's
    Boolean also takes 1, "yes", "on"... which query strings need, bodies not)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def month_field(**kwargs):
    """A ``YYYY-MM`` string checked by ``check_month``."""
    metadata = {"example": "2026-11", "pattern": MONTH_PATTERN, **kwargs.pop("metadata", {})}
    return fields.String(validate=check_month, metadata=metadata, **kwargs)


class PageQuerySchema(Schema):
    """``limit``/``offset`` of a list; unknown query parameters are ignored."""
    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_OFFSET))
