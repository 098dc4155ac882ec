"""Logging in and out, accepting an invitation, choosing the language."""
from web.api import ApiError
from web.i18n import LOCALES
from web.pages.forms import FormErrors, required
from web.routing import page


def safe_next(target):
    """Only a path on this site: never an open redirect."""
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def landing(user):
    roles = set(user["roles"])
    if "relay_manager" in roles:
        return "/manage"
    if "corporate_admin" in roles:
        return "/company/employees"
    if roles & {"network_ops", "network_admin"}:
        return "/ops"
    return "/find"


@page("/login", methods=("GET", "POST"))
def login(visit):
    """E-mail and password; when the e-mail's domain is covered by its
    company's single sign-on (typed, or in ``?email=``), the page also offers
    "Sign in with your company account" (pages/sso.py). Without JavaScript,
    submitting the e-mail alone is how the page learns it."""
    _ = visit._
    errors, email = FormErrors(), visit.request.args.get("email", "").strip()
    target = safe_next(visit.request.args.get("next"))
    if visit.request.method == "POST":
        email = visit.form.get("email", "").strip()
        if email and not visit.form.get("password") and company_sign_in(visit, email):
            return visit.render("login.html", errors=errors, email=email, next=target,
                                sso=True)
        required(visit.form, errors, _, "email", "password")
        if not errors:
            try:
                tokens, claims = visit.api.log_in(email, visit.form["password"])
            except ApiError as error:
                if error.status == 429:
                    errors.add("email", _("Too many attempts: wait a little and try again."))
                elif error.code == "sso-required":
                    errors.add("email", _("Your company signs you in with its own account: use the button below."))
                elif error.status in (400, 401, 422):
                    errors.add("email", _("The e-mail address or the password is wrong."))
                else:
                    raise
            else:
                visit.log_in(tokens, claims, who(visit, tokens, claims, email))
                return visit.redirect(target if target != "/" else landing(visit.user))
    return visit.render("login.html", errors=errors, email=email, next=target,
                        sso=bool(email) and company_sign_in(visit, email))


def company_sign_in(visit, email):
    """Whether single sign-on covers the e-mail's domain (the API answers for
    the domain, never for the account)."""
    try:
        return visit.api.request("GET", "/v1/sso/discover", params={"email": email},
                                 auth=False)["sso"]
    except ApiError:
        return False   # a malformed address, or the API unreachable: passwords only


def who(visit, tokens, claims, email):
    user = {"id": claims["sub"], "organisation_id": claims.get("org"),
            "roles": claims.get("roles", []), "relay_ids": claims.get("relays", []),
            "email": email, "name": email}
    try:
        visit.session["tokens"] = tokens   # the look-up below needs the new token
        record = visit.api.get(f"/v1/users/{claims['sub']}")
        user["name"] = record["full_name"]
        # single sign-on has no typed address: identity's
        user["email"] = email or record["email"]
    except ApiError:
        pass
    return user


@page("/logout", methods=("POST",))
def logout(visit):
    visit.api.log_out()
    visit.session.log_out()
    visit.flash(visit._("You are logged out."))
    return visit.redirect("/")


@page("/set-password", methods=("GET", "POST"))
def set_password(visit):
    """The invitation link ends in #token=...: the fragment never reaches a
    server, so static/site.js copies it into the form; without JavaScript the
    visitor pastes it into the same field."""
    _ = visit._
    errors = FormErrors()
    if visit.request.method == "POST":
        required(visit.form, errors, _, "token", "password")
        if visit.form.get("password") != visit.form.get("confirm"):
            errors.add("confirm", _("The two passwords differ."))
        if not errors:
            try:
                user = visit.api.request("POST", "/v1/auth/password", auth=False, json_body={
                    "token": visit.form["token"].strip(), "password": visit.form["password"]})
            except ApiError as error:
                if error.status == 401:
                    errors.add("token", _("This invitation has expired or was already used. Ask your administrator for a new one."))
                elif error.status in (400, 422):
                    errors.add("password", error.fields.get("password") or error.detail)
                else:
                    raise
            else:
                visit.flash(_("Your password is set: log in with it."))
                return visit.redirect("/login?email=" + user["email"])
    return visit.render("set_password.html", errors=errors)


@page("/sign-up", methods=("GET", "POST"))
def sign_up(visit):
    """A resident opens an individual account. The answer is the same for any
    address (the mail says the rest), so the page says only "check your mail"."""
    _ = visit._
    errors, values = FormErrors(), {}
    if visit.request.method == "POST":
        values = {name: visit.form.get(name, "").strip()
                  for name in ("email", "full_name", "postcode", "commune")}
        required(visit.form, errors, _, "email", "full_name", "postcode", "commune", "password")
        if visit.form.get("password") != visit.form.get("confirm"):
            errors.add("confirm", _("The two passwords differ."))
        if not errors:
            try:
                visit.api.request("POST", "/v1/residents/sign-up", auth=False, json_body=dict(
                    values, password=visit.form["password"], locale=visit.locale))
            except ApiError as error:
                if error.status == 429:
                    errors.add("email", _("Too many attempts: wait a little and try again."))
                elif error.status in (400, 422):
                    for name, messages in error.fields.items():
                        errors.add(name if name in values or name == "password" else "email",
                                   messages)
                    if not error.fields:
                        errors.add("email", error.detail)
                else:
                    raise
            else:
                visit.flash(_("Check your mail: follow its link within 24 hours to open your account."))
                return visit.redirect("/login")
    return visit.render("sign_up.html", errors=errors, values=values)


@page("/verify-email", methods=("GET", "POST"))
def verify_email(visit):
    """The sign-up mail's link ends in #token=...: static/site.js copies it
    into the form, as for invitations; the visitor confirms with one click."""
    _ = visit._
    errors = FormErrors()
    if visit.request.method == "POST":
        required(visit.form, errors, _, "token")
        if not errors:
            try:
                user = visit.api.request("POST", "/v1/residents/verify", auth=False,
                                         json_body={"token": visit.form["token"].strip()})
            except ApiError as error:
                if error.status in (401, 409):
                    errors.add("token", _("This link has expired or was already used. Sign up again to get a new one."))
                elif error.status in (400, 422, 429):
                    errors.add("token", error.detail)
                else:
                    raise
            else:
                visit.flash(_("Your account is open: log in with your password."))
                return visit.redirect("/login?email=" + user["email"])
    return visit.render("verify_email.html", errors=errors)


@page("/language", methods=("POST",))
def language(visit):
    if visit.form.get("locale") in LOCALES:
        visit.session["locale"] = visit.form["locale"]
    return visit.redirect(safe_next(visit.form.get("next")))


