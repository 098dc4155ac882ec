"""Errors a service raises for its callers.

nameko serialises a raised exception as ``{exc_type, exc_path, exc_args, value}``;
the gateway maps ``exc_path`` (``common.errors.NotFound``...) to an HTTP status
and builds a problem+json body from ``exc_args``: ``[detail, code, fields]``.
``code`` is the stable slug behind the problem ``type``; ``fields`` maps a field
name to its messages.
"""


class RelaisError(Exception):
    default_code = "error"

    def __init__(self, detail, code=None, fields=None):
        super().__init__(detail, code or self.default_code, fields or {})

    @property
    def detail(self):
        return self.args[0]

    @property
    def code(self):
        return self.args[1]

    @property
    def fields(self):
        return self.args[2]


class InvalidInput(RelaisError):
    """The request is malformed or breaks a rule of the input (HTTP 422)."""
    default_code = "validation-error"


class NotFound(RelaisError):
    """Unknown, or not visible to this caller: both look the same (HTTP 404)."""
    default_code = "not-found"


class Conflict(RelaisError):
    """The request is valid but clashes with the current state (HTTP 409)."""
    default_code = "conflict"


class Forbidden(RelaisError):
    """The caller is known but its roles do not allow this (HTTP 403)."""
    default_code = "forbidden"


class Unauthorized(RelaisError):
    """Credentials are missing or wrong (HTTP 401)."""
    default_code = "unauthorized"


class TooManyAttempts(RelaisError):
    """Too many failures in a row: wait ``fields["retry_after_seconds"]`` (HTTP 429)."""
    default_code = "too-many-attempts"


class Unavailable(RelaisError):
    """Another service this request needs did not answer in time (HTTP 503)."""
    default_code = "service-unavailable"


class UntrustedPublisher(Exception):
    """An RPC request published by a broker user that may not call this method
    (common/rpc.py). Not a RelaisError: never an answer to a client but a
    deployment error or an attack, so the gateway shows it as an internal error
    (without this text) and logs it."""
