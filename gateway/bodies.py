"""Reading request bodies: a size limit, the media type, then the parsing.
Shared by the JSON API (app.py) and SCIM (scim.py)."""
import json

from common.errors import InvalidInput
from common.validation import MAX_JSON_DEPTH, check_depth, check_text
from gateway.problems import Problem

MAX_BODY_BYTES = 1024 * 1024
# A client sends its whole body before it reads the answer: a refused body up to
# this size is read and dropped so the client gets its 413, not a reset
# connection. A bigger one is cut off.
DRAIN_LIMIT_BYTES = 16 * MAX_BODY_BYTES


def read_body(request, accepts, media_type):
    """The raw body, at most MAX_BODY_BYTES, of a media type ``accepts`` takes."""
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        too_large(request)
    if not accepts(request.mimetype):
        raise Problem(415, "unsupported-media-type", f"Send the body as {media_type}.")
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        too_large(request)
    return raw


def too_large(request):
    drained = 0
    while drained < DRAIN_LIMIT_BYTES:
        chunk = request.stream.read(64 * 1024)
        if not chunk:
            break
        drained += len(chunk)
    headers = {"Connection": "close"} if drained >= DRAIN_LIMIT_BYTES else {}
    raise Problem(413, "payload-too-large", f"The body exceeds {MAX_BODY_BYTES} bytes.",
                  headers=headers)


def is_json(mimetype):
    return mimetype == "application/json" or mimetype.endswith("+json")


def read_json(request, required=True):
    """The JSON body; an optional body that is absent reads as ``{}``."""
    if not required and not request.content_length and not request.mimetype:
        return {}
    raw = read_body(request, is_json, "application/json")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "malformed-json", f"The body is not valid JSON: {exc}.") from None
    except RecursionError:  # json's own guard, far deeper than check_depth allows
        raise Problem(400, "malformed-json", f"The body nests objects and arrays more than "
                      f"{MAX_JSON_DEPTH} deep.") from None
    try:
        check_depth(body)
    except InvalidInput as exc:
        raise Problem(400, "malformed-json", exc.detail) from None
    return storable(body)  # text is checked after decoding: \u0000 is a NUL


def read_text(request, media_type, field="body"):
    raw = read_body(request, lambda mimetype: mimetype == media_type, media_type)
    try:
        text = raw.decode(request.mimetype_params.get("charset", "utf-8"))
    except (LookupError, UnicodeDecodeError) as exc:
        raise Problem(400, "malformed-text", f"The body is not readable text: {exc}.") from None
    return storable(text, field)


def storable(value, path=""):
    """``value`` if no string in it holds a NUL or a lone surrogate (which JSON's
    \\u escapes and query strings can carry); a 422 naming the field otherwise."""
    try:
        check_text(value, path)
    except InvalidInput as exc:
        raise Problem(422, exc.code, exc.detail, exc.fields) from None
    return value
