"""A corporate admin's pages: employees (invite, CSV import with a dry run
first, deactivate), the policy, the month's usage, invoices to download,
SCIM tokens and API keys (shown once). Webhooks: web/pages/webhooks.py."""
from datetime import date

from web.api import ApiError, new_idempotency_key
from web.pages.forms import FormErrors, required, show_once, take_shown_once
from web.routing import page


def organisation(visit):
    return visit.user["organisation_id"]


PAGE = 100


@page("/company/employees", audience="corporate_admin")
def employees(visit):
    org = organisation(visit)
    offset = visit.request.args.get("offset", "0")
    offset = int(offset) if offset.isdigit() and int(offset) < 1_000_000 else 0
    users = visit.api.get(f"/v1/organisations/{org}/users", limit=PAGE, offset=offset)
    return visit.render("company_employees.html", users=users, offset=offset,
                        more=len(users) == PAGE, page_size=PAGE)


INVITE_FIELDS = ("full_name", "email")


@page("/company/employees/invite", methods=("GET", "POST"), audience="corporate_admin")
def invite(visit):
    _ = visit._
    errors, values = FormErrors(), {}
    if visit.request.method == "POST":
        values = {k: visit.form.get(k, "").strip() for k in INVITE_FIELDS}
        required(visit.form, errors, _, *INVITE_FIELDS)
        if not errors:
            try:
                visit.api.post(f"/v1/organisations/{organisation(visit)}/users",
                               dict(values, roles=["member"]),
                               idempotency_key=visit.form.get("idempotency_key"))
            except ApiError as error:
                if error.status == 409:
                    errors.add("email", _("Someone already has this e-mail address."))
                elif error.status == 422:
                    errors = FormErrors.from_api(error, INVITE_FIELDS, "email")
                else:
                    raise
            else:
                visit.flash(_("{name} is invited: the invitation is on its way.",
                              name=values["full_name"]))
                return visit.redirect("/company/employees")
    return visit.render("company_invite.html", errors=errors, values=values,
                        idempotency_key=new_idempotency_key())


@page("/company/import", methods=("GET", "POST"), audience="corporate_admin")
def csv_import(visit):
    """Two steps: the file is checked (dry run) and its report shown; the
    admin then applies that same file, kept in the session meanwhile."""
    _ = visit._
    errors, report = FormErrors(), None
    if visit.request.method == "POST":
        apply = visit.form.get("step") == "apply"
        if apply:
            text = visit.session.pop("import_csv", None)
            if not text:
                errors.add("csv", _("Choose the file again: the checked file was lost."))
        else:
            upload = visit.request.files.get("csv")
            text = upload.read().decode("utf-8-sig", errors="replace") if upload else ""
            if not text.strip():
                errors.add("csv", _("Choose a CSV file."))
        if not errors:
            try:
                report = visit.api.request(
                    "POST", f"/v1/organisations/{organisation(visit)}/users/import",
                    params={"dry_run": "false" if apply else "true"},
                    data=text.encode("utf-8"), content_type="text/csv")
            except ApiError as error:
                if error.status not in (413, 422):
                    raise
                errors.add("csv", error.fields.get("csv") or error.detail)
            else:
                if apply:
                    visit.flash(_("The file is imported: {created} created, {updated} updated, {deactivated} deactivated.",
                                  **report))
                    return visit.redirect("/company/employees")
                if not report["errors"]:
                    visit.session["import_csv"] = text
    return visit.render("company_import.html", errors=errors, report=report)


@page("/company/employees/<user_id>/deactivate", methods=("GET", "POST"),
      audience="corporate_admin")
def deactivate(visit, user_id):
    employee = visit.api.get(f"/v1/users/{user_id}")
    if visit.request.method == "POST":
        visit.api.post(f"/v1/users/{user_id}/deactivate", {})
        visit.flash(visit._("{name} is deactivated: their bookings to come are cancelled.",
                            name=employee["full_name"]))
        return visit.redirect("/company/employees")
    return visit.render("company_deactivate.html", employee=employee)


POLICY_NUMBERS = ("radius_km", "max_days_per_month", "booking_horizon_days")


@page("/company/policy", methods=("GET", "POST"), audience="corporate_admin")
def policy(visit):
    _ = visit._
    path = f"/v1/organisations/{organisation(visit)}/policy"
    current, errors = visit.api.get(path), FormErrors()
    if visit.request.method == "POST":
        form = visit.form
        body = {"allowed_relays": form.get("allowed_relays", "all")}
        if body["allowed_relays"] == "list":
            body["relay_ids"] = current.get("relay_ids") or []
        for name in POLICY_NUMBERS:
            value = form.get(name, "").strip()
            if value and not value.isdigit():
                errors.add(name, _("Enter a whole number, or leave it empty."))
            body[name] = int(value) if value.isdigit() else None
        budget = form.get("monthly_budget", "").strip().replace(",", ".")
        try:
            body["monthly_budget_cents"] = round(float(budget) * 100) if budget else None
        except ValueError:
            errors.add("monthly_budget", _("Enter an amount in euros, such as 250."))
        kinds = form.getlist("space_kinds")
        body["space_kinds"] = kinds if kinds and len(kinds) < 2 else None
        if not errors:
            try:
                visit.api.put(path, body)
            except ApiError as error:
                if error.status != 422:
                    raise
                errors = FormErrors.from_api(error, POLICY_NUMBERS + ("allowed_relays",),
                                             "allowed_relays")
            else:
                visit.flash(_("The policy is saved."))
                return visit.redirect("/company/policy")
        current = dict(current, **body)
    return visit.render("company_policy.html", policy=current, errors=errors)


@page("/company/usage", audience="corporate_admin")
def usage(visit):
    month = visit.request.args.get("month") or date.today().strftime("%Y-%m")
    try:
        date.fromisoformat(month + "-01")
    except ValueError:
        month = date.today().strftime("%Y-%m")
    report = visit.api.get("/v1/organisation-usage", month=month)
    return visit.render("company_usage.html", report=report, month=month)


# Machine credentials: a SCIM token for the identity provider, an API key for
# the company's own software (the corporate admin's rights). Both are shown
# once, when made; identity keeps only their hash.
CREDENTIALS = {"scim-tokens": {}, "api-keys": {"roles": ["corporate_admin"]}}


@page("/company/<any('scim-tokens', 'api-keys'):kind>", methods=("GET", "POST"),
      audience="corporate_admin")
def credentials(visit, kind):
    _ = visit._
    path = f"/v1/organisations/{organisation(visit)}/{kind}"
    errors = FormErrors()
    if visit.request.method == "POST":
        name = visit.form.get("name", "").strip()
        if not name:
            errors.add("name", _("Name it after what will use it, such as your identity provider."))
        else:
            made = visit.api.post(path, dict(CREDENTIALS[kind], name=name))
            show_once(visit, {"name": made["name"], "secret": made["secret"]})
            return visit.redirect(f"/company/{kind}")
    created = take_shown_once(visit)
    listed = [c for c in visit.api.get(path) if not c.get("revoked_at")]
    return visit.render("company_credentials.html", kind=kind, credentials=listed,
                        created=created, errors=errors,
                        api_base=visit.app.gateway_public_url)


@page("/company/<any('scim-tokens', 'api-keys'):kind>/<credential_id>/revoke", methods=("POST",),
      audience="corporate_admin")
def revoke_credential(visit, kind, credential_id):
    visit.api.delete(f"/v1/organisations/{organisation(visit)}/{kind}/{credential_id}")
    visit.flash(visit._("It is revoked: it stops working within a minute."))
    return visit.redirect(f"/company/{kind}")


@page("/company/invoices", audience="corporate_admin")
def invoices(visit):
    """The company's invoices and credit notes, newest first, to download."""
    documents = visit.api.get("/v1/documents", status="final", limit=100)
    return visit.render("company_invoices.html", documents=documents)
