"""Single sign-on's two HTTP steps (identity does the OpenID Connect work,
services/identity/sso.py):

- ``GET /v1/sso/start?email=``: identity answers the provider's URL and the
  state, nonce and PKCE verifier; the gateway keeps the last three in Redis
  under a hash of the state for ten minutes and redirects the browser (302).
- ``GET /v1/sso/callback?code=&state=``: the state is taken out of Redis
  (GETDEL: single use, so a replayed callback, or its code, is refused here)
  and identity exchanges the code and answers the platform's tokens.

Nothing of it reaches the browser but the state (in the provider's URL): the
verifier and nonce stay server-side, so a stolen code is worthless. Redis is
the attempt limits' (gateway/limits.py): unreachable, these answer 503.
"""
import json

from gateway.limits import LimitsUnavailable, digest
from gateway.problems import Problem

STATE_SECONDS = 600
KEPT = ("organisation_id", "nonce", "code_verifier", "redirect_uri")


class SignIns:
    """Sign-ins begun and not yet completed, in Redis, single use."""

    def __init__(self, limits):
        self.limits = limits

    def keep(self, begun):
        key = self.limits.key("sso", digest(begun["state"]))
        value = json.dumps({name: begun[name] for name in KEPT})
        self._run(lambda r: r.set(key, value, ex=STATE_SECONDS))

    def take(self, state):
        """What ``keep`` stored for this state, once; None if unknown, expired
        or already taken."""
        value = self._run(lambda r: r.getdel(self.limits.key("sso", digest(state))))
        return json.loads(value) if value else None

    def _run(self, work):
        try:
            return self.limits.run(work)
        except LimitsUnavailable:
            raise Problem(503, "sso-unavailable", "Single sign-on cannot be used now: try "
                          "again shortly.", headers={"Retry-After": "5"}) from None


def refused_callback(query):
    """A problem for a callback that carries no code (the provider refused,
    or the person cancelled), else None."""
    if query.get("error") or not query.get("code"):
        reason = query.get("error") or "no code"
        return Problem(401, "sso-refused-by-provider", "The identity provider did not sign "
                       f"you in ({reason[:200]}).")
    return None


def invalid_state():
    return Problem(400, "sso-invalid-state", "This sign-in is unknown, has expired or was "
                   "already completed: sign in again.")
