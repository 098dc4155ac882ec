"""Signing in with one's company account (OpenID Connect, through the API's
/v1/sso/start and /v1/sso/callback).

The API keeps the sign-in's secrets (nonce, PKCE verifier) and uses its state
once; the pages also bind the state to the visitor's session, so a callback
link someone else began (a log-in CSRF: being logged in as the attacker)
is refused here before the API is asked.
"""
from urllib.parse import parse_qs, urlsplit

from web.api import ApiError, token_claims
from web.pages.account import landing, safe_next, who
from web.routing import page


@page("/sso/start")
def start(visit):
    _ = visit._
    email = visit.request.args.get("email", "").strip()
    target = safe_next(visit.request.args.get("next"))
    try:
        answer = visit.api.request("GET", "/v1/sso/start", auth=False, raw=True, params={
            "email": email, "redirect_uri": visit.app.public_url + "/sso/callback"})
    except ApiError as error:
        if error.status >= 500:
            raise
        visit.flash(_("Single sign-on does not cover this e-mail address: log in with your password."), "error")
        return visit.redirect("/login")
    location = answer.headers["Location"]
    visit.session["sso"] = {"state": _query_value(location, "state"), "next": target}
    return visit.redirect(location)


@page("/sso/callback")
def callback(visit):
    _ = visit._
    pending = visit.session.pop("sso", None)
    state = visit.request.args.get("state", "")
    if not pending or not state or pending["state"] != state:
        visit.flash(_("This sign-in has expired or was not started here: sign in again."), "error")
        return visit.redirect("/login")
    try:
        tokens = visit.api.request("GET", "/v1/sso/callback", auth=False,
                                   params=visit.request.args.to_dict())
    except ApiError as error:
        if error.status >= 500:
            raise
        refusals = {   # the API's refusals a person can act on, in their words
            "sso-user-deactivated": _("This account is deactivated."),
            "sso-no-account": _("Your company account is not linked to a Relais account: ask your company's administrator."),
        }
        visit.flash(refusals.get(error.code, _("Signing in with your company account failed: try again.")), "error")
        return visit.redirect("/login")
    claims = token_claims(tokens["access_token"])
    visit.log_in(tokens, claims, who(visit, tokens, claims, ""))
    return visit.redirect(pending["next"] if pending["next"] != "/" else landing(visit.user))


def _query_value(url, name):
    return (parse_qs(urlsplit(url).query).get(name) or [""])[0]
