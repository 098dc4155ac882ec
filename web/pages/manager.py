"""A relay manager's pages: today's arrivals with check-in, the week, closures."""
from datetime import date, timedelta

from web.api import ApiError, new_idempotency_key
from web.pages.forms import FormErrors, required
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
