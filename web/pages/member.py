"""A member's pages: find a free desk or room near home, book in one step,
their bookings (cancel, check in), the calendar feed, the profile."""
from datetime import date, datetime, timedelta, timezone

from web.api import ApiError, new_idempotency_key
from web.pages.forms import SPACE_KINDS, FormErrors
from web.routing import page

SLOTS = ("morning", "afternoon", "day")
LATE_HOURS = 24   # booking's rule: a cancellation less than 24 h before the start is late


def home_of(visit):
    try:
        profile = visit.api.get(f"/v1/users/{visit.user['id']}/profile")
    except ApiError as error:
        if error.status in (403, 404):
            return None
        raise
    if profile.get("home_latitude") is None or profile.get("home_longitude") is None:
        return None
    return profile


@page("/find", audience="member")
def find(visit):
    _ = visit._
    args = visit.request.args
    profile = home_of(visit)
    errors, results = FormErrors(), None
    kind = args.get("kind") if args.get("kind") in SPACE_KINDS else "desk"
    slot = args.get("slot") if args.get("slot") in SLOTS else "day"
    radius = args.get("radius_km") or "30"
    day = args.get("date", "")
    if day and profile:
        try:
            date.fromisoformat(day)
        except ValueError:
            errors.add("date", _("Enter a date such as 2027-03-15."))
        query = {"date": day, "kind": kind, "latitude": profile["home_latitude"],
                 "longitude": profile["home_longitude"], "radius_km": radius}
        if kind == "desk":
            query["slot"] = slot
        else:
            query["start"], query["end"] = args.get("start") or "09:00", args.get("end") or "11:00"
        if not errors:
            try:
                results = visit.api.get("/v1/availability", **query)
            except ApiError as error:
                if error.status != 422:
                    raise
                errors = FormErrors.from_api(error, ("date", "slot", "start", "end", "radius_km"),
                                             "date")
    return visit.render("find.html", profile=profile, results=results, errors=errors, on_date=day,
                        kind=kind, slot=slot, radius=radius, start=args.get("start", "09:00"),
                        end=args.get("end", "11:00"), slots=SLOTS, kinds=SPACE_KINDS,
                        idempotency_key=new_idempotency_key())


@page("/bookings", methods=("GET", "POST"), audience="member")
def bookings(visit):
    if visit.request.method == "POST":
        return book(visit)
    mine = visit.api.get("/v1/bookings", member_id=visit.user["id"], limit=100)
    coming = [b for b in mine if b["status"] in ("confirmed", "checked_in")]
    past = [b for b in mine if b not in coming]
    return visit.render("bookings.html", coming=coming, past=past)


def book(visit):
    """One step: the search result's button posts the relay, date and slot;
    the form's Idempotency-Key makes a double click book once."""
    _ = visit._
    form = visit.form
    body = {"relay_id": form.get("relay_id"), "date": form.get("date"),
            "kind": form.get("kind", "desk")}
    if body["kind"] == "desk":
        body["slot"] = form.get("slot")
    else:
        body["start"], body["end"] = form.get("start"), form.get("end")
    try:
        booking = visit.api.post("/v1/bookings", body,
                                 idempotency_key=form.get("idempotency_key") or None)
    except ApiError as error:
        if error.status not in (409, 422):
            raise
        visit.flash(_("This could not be booked: {detail}", detail=error.detail), "error")
        return visit.redirect("/find")
    visit.flash(_("Booked. A confirmation is on its way to your mailbox."))
    return visit.redirect(f"/bookings/{booking['id']}")


def is_late(booking, now=None):
    now = now or datetime.now(timezone.utc)
    return datetime.fromisoformat(booking["starts_at"]) - now < timedelta(hours=LATE_HOURS)


@page("/bookings/<booking_id>", audience="member")
def booking_page(visit, booking_id):
    booking = visit.api.get(f"/v1/bookings/{booking_id}")
    return visit.render("booking.html", booking=booking, errors=FormErrors(),
                        late=is_late(booking))


@page("/bookings/<booking_id>/cancel", methods=("GET", "POST"), audience="member")
def cancel(visit, booking_id):
    _ = visit._
    booking = visit.api.get(f"/v1/bookings/{booking_id}")
    if visit.request.method == "POST":
        try:
            visit.api.post(f"/v1/bookings/{booking_id}/cancel", {})
        except ApiError as error:
            if error.status not in (409, 422):
                raise
            visit.flash(error.detail, "error")
            return visit.redirect(f"/bookings/{booking_id}")
        visit.flash(_("Your booking is cancelled."))
        return visit.redirect("/bookings")
    return visit.render("cancel.html", booking=booking, late=is_late(booking))


@page("/bookings/<booking_id>/check-in", methods=("POST",), audience="member")
def check_in(visit, booking_id):
    _ = visit._
    code = visit.form.get("code", "").strip()
    errors = FormErrors()
    if not code:
        errors.add("code", _("Enter the code shown at the relay's reception."))
    else:
        try:
            visit.api.post(f"/v1/bookings/{booking_id}/check-in", {"code": code})
        except ApiError as error:
            if error.status not in (409, 422, 429, 403):
                raise
            errors.add("code", error.detail)
        else:
            visit.flash(_("You are checked in. Have a good day!"))
            return visit.redirect(f"/bookings/{booking_id}")
    booking = visit.api.get(f"/v1/bookings/{booking_id}")
    return visit.render("booking.html", booking=booking, errors=errors, late=is_late(booking),
                        status=422)


@page("/calendar", methods=("GET", "POST"), audience="member")
def calendar(visit):
    """The feed's URL is shown once, when it is made (booking keeps only its
    hash): a new one replaces the previous."""
    feed = None
    if visit.request.method == "POST":
        if visit.form.get("action") == "revoke":
            visit.api.delete("/v1/calendar-feed")
            visit.flash(visit._("Your calendar address no longer works."))
            return visit.redirect("/calendar")
        feed = visit.api.post("/v1/calendar-feed", {})
    return visit.render("calendar.html", feed=feed)


PROFILE_FIELDS = ("home_commune", "home_latitude", "home_longitude", "usual_office",
                  "commute_km", "commute_mode")


@page("/profile", methods=("GET", "POST"), audience="member")
def profile(visit):
    _ = visit._
    path = f"/v1/users/{visit.user['id']}/profile"
    errors = FormErrors()
    try:
        current = visit.api.get(path)
    except ApiError as error:
        if error.status not in (403, 404):
            raise
        current = None   # not an employee of a company: language only
    if visit.request.method == "POST" and current is not None:
        body = {}
        for name in PROFILE_FIELDS:
            value = visit.form.get(name, "").strip()
            if name in ("home_latitude", "home_longitude", "commute_km") and value:
                try:
                    value = float(value.replace(",", "."))
                except ValueError:
                    errors.add(name, _("Enter a number, such as 46.17."))
            body[name] = value if value != "" else None
        if not errors:
            try:
                current = visit.api.put(path, body)
            except ApiError as error:
                if error.status != 422:
                    raise
                errors = FormErrors.from_api(error, PROFILE_FIELDS, "home_commune")
            else:
                visit.flash(_("Your profile is saved."))
                return visit.redirect("/profile")
        current = dict(current, **{k: visit.form.get(k, "") for k in PROFILE_FIELDS})
    return visit.render("profile.html", profile=current, errors=errors)
