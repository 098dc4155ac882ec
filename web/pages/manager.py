"""A relay manager's pages: today's arrivals with check-in, the week, closures,
opening hours, spaces, the relay's figures, and the operator's monthly
statements to accept or contest."""
from datetime import date, timedelta

from web.api import ApiError, new_idempotency_key
from web.pages.forms import SPACE_FEATURES, SPACE_KINDS, FormErrors, required
from web.routing import page


def managed(visit):
    """The relays this manager runs (the token's relay ids), with their names."""
    relays = []
    for relay_id in visit.user.get("relay_ids", []):
        try:
            relays.append(visit.api.get(f"/v1/relays/{relay_id}"))
        except ApiError as error:
            if error.status != 404:
                raise
    return relays


@page("/manage", audience="relay_manager")
def relays(visit):
    mine = managed(visit)
    if len(mine) == 1:
        return visit.redirect(f"/manage/{mine[0]['id']}")
    return visit.render("manage_relays.html", relays=mine)


def valid_day(text):
    try:
        return date.fromisoformat(text).isoformat() if text else None
    except ValueError:
        return None


@page("/manage/<relay_id>", audience="relay_manager")
def day(visit, relay_id):
    relay = visit.api.get(f"/v1/relays/{relay_id}")
    the_day = visit.api.get(f"/v1/relays/{relay_id}/day",
                            date=valid_day(visit.request.args.get("date")))
    shown = date.fromisoformat(the_day["date"])
    return visit.render("manage_day.html", relay=relay, the_day=the_day,
                        previous=(shown - timedelta(days=1)).isoformat(),
                        next=(shown + timedelta(days=1)).isoformat())


@page("/manage/<relay_id>/check-in/<booking_id>", methods=("POST",), audience="relay_manager")
def check_in(visit, relay_id, booking_id):
    _ = visit._
    try:
        booking = visit.api.post(f"/v1/bookings/{booking_id}/check-in", {})
    except ApiError as error:
        if error.status not in (409, 422):
            raise
        visit.flash(error.detail, "error")
    else:
        visit.flash(_("{name} is checked in.", name=booking.get("member_name") or
                      visit.form.get("member_name") or _("The member")))
    return visit.redirect(f"/manage/{relay_id}?date={valid_day(visit.form.get('date')) or ''}")


@page("/manage/<relay_id>/week", audience="relay_manager")
def week(visit, relay_id):
    relay = visit.api.get(f"/v1/relays/{relay_id}")
    the_week = visit.api.get(f"/v1/relays/{relay_id}/week",
                             start=valid_day(visit.request.args.get("start")))
    start = date.fromisoformat(the_week["start"])
    return visit.render("manage_week.html", relay=relay, week=the_week,
                        previous=(start - timedelta(days=7)).isoformat(),
                        next=(start + timedelta(days=7)).isoformat())


CLOSURE_FIELDS = ("starts_on", "ends_on", "reason")


@page("/manage/<relay_id>/closures", methods=("GET", "POST"), audience="relay_manager")
def closures(visit, relay_id):
    _ = visit._
    relay = visit.api.get(f"/v1/relays/{relay_id}")
    errors, values = FormErrors(), {}
    if visit.request.method == "POST":
        values = {k: visit.form.get(k, "").strip() for k in CLOSURE_FIELDS}
        required(visit.form, errors, _, *CLOSURE_FIELDS)
        if not errors:
            try:
                closure = visit.api.post(f"/v1/relays/{relay_id}/closures", values,
                                         idempotency_key=visit.form.get("idempotency_key"))
            except ApiError as error:
                if error.status not in (409, 422):
                    raise
                errors = FormErrors.from_api(error, CLOSURE_FIELDS, "starts_on")
            else:
                visit.flash(_("The relay is closed from {start} to {end}; {count} bookings were cancelled.",
                              start=closure["starts_on"],
                              end=closure["ends_on"], count=closure["cancelled_bookings"]))
                return visit.redirect(f"/manage/{relay_id}/closures")
    listed = visit.api.get(f"/v1/relays/{relay_id}/closures", days=366)
    return visit.render("manage_closures.html", relay=relay, closures=listed, errors=errors,
                        values=values, idempotency_key=new_idempotency_key())


@page("/manage/<relay_id>/closures/<closure_id>/delete", methods=("POST",),
      audience="relay_manager")
def reopen(visit, relay_id, closure_id):
    visit.api.delete(f"/v1/relays/{relay_id}/closures/{closure_id}")
    visit.flash(visit._("The closure is removed."))
    return visit.redirect(f"/manage/{relay_id}/closures")


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HALVES = ("morning", "afternoon")


def hours_from_form(form):
    """The week as the API takes it: a half-day with both times, a weekday
    with neither half left out (closed). Half-filled halves are an error."""
    week, incomplete = {}, []
    for weekday in WEEKDAYS:
        day = {}
        for half in HALVES:
            opens = form.get(f"{weekday}-{half}-opens", "").strip()
            closes = form.get(f"{weekday}-{half}-closes", "").strip()
            if opens and closes:
                day[half] = {"opens": opens, "closes": closes}
            elif opens or closes:
                incomplete.append(f"{weekday}-{half}-opens")
        if day:
            week[weekday] = day
    return week, incomplete


@page("/manage/<relay_id>/hours", methods=("GET", "POST"), audience="relay_manager")
def hours(visit, relay_id):
    _ = visit._
    relay = visit.api.get(f"/v1/relays/{relay_id}")
    errors = FormErrors()
    if visit.request.method == "POST":
        week, incomplete = hours_from_form(visit.form)
        for name in incomplete:
            errors.add(name, _("Give both the opening and the closing time, or neither."))
        body = {"opening_hours": week,
                "closed_on_public_holidays": visit.form.get("closed_on_public_holidays") == "yes"}
        if not errors:
            try:
                visit.api.patch(f"/v1/relays/{relay_id}", body)
            except ApiError as error:
                if error.status != 422:
                    raise
                errors = FormErrors.from_api(error, (), "monday-morning-opens")
            else:
                visit.flash(_("The opening hours are saved."))
                return visit.redirect(f"/manage/{relay_id}/hours")
        relay = dict(relay, **body)
    return visit.render("manage_hours.html", relay=relay, errors=errors, weekdays=WEEKDAYS,
                        halves=HALVES)




@page("/manage/<relay_id>/spaces", methods=("GET", "POST"), audience="relay_manager")
def spaces(visit, relay_id):
    _ = visit._
    relay = visit.api.get(f"/v1/relays/{relay_id}")
    errors, values = FormErrors(), {}
    if visit.request.method == "POST":
        values = {k: visit.form.get(k, "").strip() for k in ("kind", "name", "capacity")}
        required(visit.form, errors, _, "name")
        values["features"] = [f for f in visit.form.getlist("features") if f in SPACE_FEATURES]
        if values["kind"] not in SPACE_KINDS:
            errors.add("kind", _("Choose a kind of space."))
        capacity = values["capacity"] or "1"
        if not capacity.isdigit():
            errors.add("capacity", _("Enter a whole number, or leave it empty."))
        if not errors:
            try:
                space = visit.api.post(f"/v1/relays/{relay_id}/spaces", {
                    "kind": values["kind"], "name": values["name"], "capacity": int(capacity),
                    "features": values["features"]},
                    idempotency_key=visit.form.get("idempotency_key"))
            except ApiError as error:
                if error.status not in (409, 422):
                    raise
                errors = FormErrors.from_api(error, ("kind", "name", "capacity", "features"),
                                             "name")
            else:
                visit.flash(_("{name} is added: members can book it now.", name=space["name"]))
                return visit.redirect(f"/manage/{relay_id}/spaces")
    return visit.render("manage_spaces.html", relay=relay, errors=errors, values=values,
                        kinds=SPACE_KINDS, features=SPACE_FEATURES,
                        idempotency_key=new_idempotency_key())


@page("/manage/<relay_id>/figures", audience="relay_manager")
def figures(visit, relay_id):
    """The relay's line of the network's health (the API scopes it to the
    manager's relays)."""
    relay = visit.api.get(f"/v1/relays/{relay_id}")
    health = visit.api.get("/v1/network-health")
    mine = next((r for r in health["relays"] if r["relay_id"] == relay_id), None)
    return visit.render("manage_figures.html", relay=relay, figures=mine, as_of=health["as_of"])


SETTLEMENT = "self_billed_invoice"


@page("/manage/<relay_id>/settlements", audience="relay_manager")
def settlements(visit, relay_id):
    """The operator's monthly statements (billing shows a manager those of
    the operator running their relays)."""
    relay = visit.api.get(f"/v1/relays/{relay_id}")
    statements = visit.api.get("/v1/documents", kind=SETTLEMENT, status="final", limit=100)
    return visit.render("manage_settlements.html", relay=relay, statements=statements)


REVIEW_FIELDS = ("decision", "reason")


@page("/manage/<relay_id>/settlements/<document_id>", methods=("GET", "POST"),
      audience="relay_manager")
def settlement(visit, relay_id, document_id):
    _ = visit._
    relay = visit.api.get(f"/v1/relays/{relay_id}")
    errors = FormErrors()
    if visit.request.method == "POST":
        decision, reason = visit.form.get("decision"), visit.form.get("reason", "").strip()
        if decision not in ("accepted", "contested"):
            errors.add("decision", _("Accept the statement or contest it."))
        elif decision == "contested" and not reason:
            errors.add("reason", _("Say what is wrong, so the network can correct it."))
        if not errors:
            body = {"decision": decision, "reason": reason or None}
            try:
                visit.api.post(f"/v1/documents/{document_id}/review", body)
            except ApiError as error:
                if error.status not in (409, 422):
                    raise
                errors = FormErrors.from_api(error, REVIEW_FIELDS, "decision")
            else:
                visit.flash(_("The statement is accepted.") if decision == "accepted"
                            else _("The statement is contested: the network will answer."))
                return visit.redirect(f"/manage/{relay_id}/settlements/{document_id}")
    statement = visit.api.get(f"/v1/documents/{document_id}")
    return visit.render("manage_settlement.html", relay=relay, statement=statement,
                        errors=errors, form=visit.form)
