"""A corporate admin's webhook endpoints (notify's webhook API): register one
(its signing secret shown once), enable or disable it, read its deliveries,
send a test event, send a period's deliveries again."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from web.api import ApiError
from web.pages.forms import FormErrors, required, show_once, take_shown_once
from web.routing import page

ENDPOINTS = "/v1/webhook-endpoints"
ENDPOINT_FIELDS = ("url", "event_types", "description")
PARIS = ZoneInfo("Europe/Paris")   # the network's days (billing's months are Paris's too)


def event_patterns(text):
    """``booking.*, billing.invoice_finalized`` → a list, whatever the separators."""
    return [p for p in text.replace(",", " ").split() if p]


@page("/company/webhooks", methods=("GET", "POST"), audience="corporate_admin")
def endpoints(visit):
    _ = visit._
    errors, values = FormErrors(), {}
    if visit.request.method == "POST":
        values = {k: visit.form.get(k, "").strip() for k in ENDPOINT_FIELDS}
        required(visit.form, errors, _, "url", "event_types")
        if not errors:
            try:
                made = visit.api.post(ENDPOINTS, {
                    "url": values["url"], "event_types": event_patterns(values["event_types"]),
                    "description": values["description"]})
            except ApiError as error:
                if error.status not in (409, 422):
                    raise
                errors = FormErrors.from_api(error, ENDPOINT_FIELDS, "url")
            else:
                show_once(visit, {"url": made["url"], "secret": made["secret"]})
                return visit.redirect("/company/webhooks")
    created = take_shown_once(visit)
    listed = visit.api.get(ENDPOINTS, limit=100)
    return visit.render("company_webhooks.html", endpoints=listed, created=created,
                        errors=errors, values=values)


@page("/company/webhooks/<endpoint_id>", methods=("GET", "POST"), audience="corporate_admin")
def endpoint(visit, endpoint_id):
    """One endpoint: its deliveries, newest first, and what can be done to it
    (the form's ``action``)."""
    _ = visit._
    errors = FormErrors()
    path = f"{ENDPOINTS}/{endpoint_id}"
    if visit.request.method == "POST":
        action = visit.form.get("action")
        if action in ("enable", "disable"):
            visit.api.patch(path, {"enabled": action == "enable"})
            visit.flash(_("The endpoint is enabled.") if action == "enable"
                        else _("The endpoint is disabled: nothing is sent to it any more."))
            return visit.redirect(f"/company/webhooks/{endpoint_id}")
        if action == "test":
            visit.api.post(f"{path}/test", {})
            visit.flash(_("A test event is on its way: it shows below within a few seconds."))
            return visit.redirect(f"/company/webhooks/{endpoint_id}")
        if action == "replay":
            replayed = replay(visit, path, errors)
            if replayed is not None:
                visit.flash(_("{count} deliveries are sent again.", count=replayed))
                return visit.redirect(f"/company/webhooks/{endpoint_id}")
    found = visit.api.get(path)
    deliveries = visit.api.get(f"{path}/deliveries", limit=50)
    today = date.today()
    return visit.render("company_webhook.html", endpoint=found, deliveries=deliveries,
                        errors=errors, since=visit.form.get("since") or
                        (today - timedelta(days=1)).isoformat(),
                        until=visit.form.get("until") or today.isoformat())


def replay(visit, path, errors):
    """Every delivery whose event happened on the days ``since`` to ``until``
    (Paris days; the API takes instants)."""
    _ = visit._
    try:
        since = date.fromisoformat(visit.form.get("since", ""))
        until = date.fromisoformat(visit.form.get("until", ""))
    except ValueError:
        errors.add("since", _("Enter two dates, such as 2027-03-15."))
        return None
    if until < since:
        errors.add("until", _("The last day comes after the first."))
        return None
    try:
        answer = visit.api.post(f"{path}/replay", {
            "since": datetime.combine(since, time(0), PARIS).isoformat(),
            "until": datetime.combine(until + timedelta(days=1), time(0), PARIS).isoformat()})
    except ApiError as error:
        if error.status != 422:
            raise
        errors.add("since", error.detail)
        return None
    return answer["replayed"]
