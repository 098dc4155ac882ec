"""The ``Idempotency-Key`` header: what the gateway accepts, said once for the
check (app.py) and for the OpenAPI document (openapi.py).

A key is 1 to 255 printable ASCII characters, at least one of them visible:
the header is a structured-field string (draft-ietf-httpapi-idempotency-key-
header), and HTTP servers strip the spaces around a header's value, so a key
of spaces only would arrive empty.
"""
import re

from gateway.problems import Problem

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
PATTERN = r"^[ -~]*[!-~][ -~]*$"
_KEY = re.compile(PATTERN)
SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH, "pattern": PATTERN}


def idempotency_key(request):
    """The request's key (None without one); a 400 when it breaks the rule."""
    key = request.headers.get(HEADER)
    if key is not None and not (len(key) <= MAX_LENGTH and _KEY.match(key)):
        raise Problem(400, "invalid-idempotency-key",
                      f"An {HEADER} has 1 to {MAX_LENGTH} printable ASCII characters, "
                      "not only spaces.")
    return key
