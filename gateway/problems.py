"""Errors as ``application/problem+json`` (RFC 9457).

``type`` is a stable URI per kind of problem (clients switch on it), ``detail``
is for people, ``errors`` maps each bad field to its messages.
"""
import json
from http import HTTPStatus

from werkzeug.wrappers import Response

PROBLEM_BASE = "https://relais-des-possibles.fr/problems/"

# exc_path of a service error -> HTTP status
REMOTE_STATUSES = {
    "common.errors.InvalidInput": 422,
    "common.errors.NotFound": 404,
    "common.errors.Conflict": 409,
    "common.errors.Forbidden": 403,
    "common.errors.Unauthorized": 401,
    "common.errors.TooManyAttempts": 429,
    "common.errors.Unavailable": 503,
}


class Problem(Exception):
    def __init__(self, status, code, detail, fields=None, headers=None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.fields = fields or {}
        self.headers = headers or {}

    def response(self, instance, call_id):
        body = {
            "type": PROBLEM_BASE + self.code,
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "call_id": call_id,
        }
        if self.fields:
            body["errors"] = self.fields
        return Response(json.dumps(body), status=self.status, headers=self.headers,
                        content_type="application/problem+json")


def from_remote_error(error):
    """A service's error as the problem the caller should see."""
    status = REMOTE_STATUSES.get(error.exc_path)
    if status is None:
        # Not an error the service meant to raise: a bug, shown without its internals.
        return Problem(500, "internal-error", "The request failed inside the service.")
    detail, code, fields = (list(error.exc_args) + [None, None, None])[:3]
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="relais"'
    if status in (429, 503) and (fields or {}).get("retry_after_seconds"):
        headers["Retry-After"] = str(fields["retry_after_seconds"][0])
    return Problem(status, code or "error", detail or str(error), fields or {}, headers)
