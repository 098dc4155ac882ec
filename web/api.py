"""The web pages' only way into the platform: the public HTTP API, through the
gateway, as any partner would call it. No service package is imported here.

An ``Api`` is made per request with the visitor's session: it sends the access
token, and when the gateway says the token expired it trades the refresh token
for new ones once and retries.
"""
import base64
import json
import uuid

import requests

_http = requests.Session()   # connection pool shared by the worker's threads


class ApiError(Exception):
    """A problem+json answer (or a transport failure, status 503)."""

    def __init__(self, status, code, detail, fields=None):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.fields = fields or {}

    @classmethod
    def from_response(cls, response):
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = (body.get("type") or "").rsplit("/", 1)[-1] or "error"
        return cls(response.status_code, code, body.get("detail") or response.reason,
                   flatten_fields(body.get("errors") or body.get("fields") or {}))


def flatten_fields(errors, prefix=""):
    """``{"a": {"b": ["x"]}}`` → ``{"a.b": "x"}``: one message per form field."""
    flat = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            flat.update(flatten_fields(value, f"{prefix}{key}."))
    elif isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        flat[prefix.rstrip(".")] = " ".join(errors)
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            flat.update(flatten_fields(value, f"{prefix}{index}."))
    elif isinstance(errors, str):
        flat[prefix.rstrip(".")] = errors
    return flat


def token_claims(access_token):
    """The claims of an access token the gateway just gave us (who, which
    roles): read to shape the pages, never trusted for access, which the API
    decides on every call."""
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class Api:
    def __init__(self, base_url, session=None, timeout=10):
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.timeout = timeout

    def request(self, method, path, *, json_body=None, params=None, data=None,
                content_type=None, idempotency_key=None, auth=True, raw=False, _retry=True):
        headers = {"Accept": "application/json"}
        tokens = self.session.get("tokens") if (auth and self.session is not None) else None
        if tokens:
            headers["Authorization"] = f"Bearer {tokens['access_token']}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if content_type:
            headers["Content-Type"] = content_type
        try:
            # A redirect is the API's answer (single sign-on's start), never followed here.
            response = _http.request(method, self.base_url + path, json=json_body, params=params,
                                     data=data, headers=headers, timeout=self.timeout,
                                     allow_redirects=False)
        except requests.RequestException as exc:
            raise ApiError(503, "unreachable", f"The platform cannot be reached ({exc}).")
        if response.status_code == 401 and tokens and _retry and self.refresh():
            return self.request(method, path, json_body=json_body, params=params, data=data,
                                content_type=content_type, idempotency_key=idempotency_key,
                                raw=raw, _retry=False)
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        if raw:
            return response
        if response.status_code == 204:
            return None
        if response.headers.get("Content-Type", "").startswith("application/json"):
            return response.json()
        return response.text

    def get(self, path, **params):
        return self.request("GET", path, params={k: v for k, v in params.items()
                                                 if v not in (None, "")})

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, json_body=body if body is not None else {}, **kwargs)

    def put(self, path, body):
        return self.request("PUT", path, json_body=body)

    def delete(self, path):
        return self.request("DELETE", path)

    def patch(self, path, body):
        return self.request("PATCH", path, json_body=body)

    def download(self, path):
        """A document as the API sends it: (bytes, content type)."""
        response = self.request("GET", path, raw=True)
        return response.content, response.headers.get("Content-Type", "application/octet-stream")

    # -- tokens ----------------------------------------------------------------

    def log_in(self, email, password):
        tokens = self.request("POST", "/v1/auth/token", auth=False,
                              json_body={"email": email, "password": password})
        return tokens, token_claims(tokens["access_token"])

    def refresh(self):
        """New tokens from the refresh token (single use, rotated); False when
        it is gone (expired, revoked, user deactivated): the visitor logs in again."""
        tokens = self.session.get("tokens") or {}
        try:
            fresh = self.request("POST", "/v1/auth/refresh", auth=False,
                                 json_body={"refresh_token": tokens.get("refresh_token", "")})
        except ApiError:
            self.session.log_out()
            return False
        self.session["tokens"] = fresh
        return True

    def log_out(self):
        tokens = self.session.get("tokens")
        if tokens:
            try:
                self.request("POST", "/v1/auth/logout", auth=False,
                             json_body={"refresh_token": tokens["refresh_token"]})
            except ApiError:
                pass   # already revoked or expired: the visitor is logged out all the same


def new_idempotency_key():
    return "web-" + uuid.uuid4().hex
