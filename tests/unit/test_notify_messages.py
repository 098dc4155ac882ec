"""notify's messages as pure functions: Jinja2 templates in two languages, the
calendar invitation, the categories people may turn off and their signed links."""
from datetime import date, datetime, timezone
from types import SimpleNamespace

import icalendar
import pytest

from services.booking.slots import DEFAULT_DAY, slot_times
from services.notify import calendar_invite, daily_rules, message_categories, templates

BOOKING = {"booking_id": "b-1", "relay_name": "Relais <b>Tom & Jerry</b>",
           "relay_address": "1 rue du Lac, 98800 Nouméa", "space_name": "Bureau 1",
           "space_kind": "desk", "slot": "morning", "timezone": "Pacific/Noumea",
           "local_starts_at": "2026-12-01T08:30:00+11:00",
           "local_ends_at": "2026-12-01T12:30:00+11:00",
           "starts_at": "2026-11-30T21:30:00+00:00", "ends_at": "2026-12-01T01:30:00+00:00"}
KEY = "a-key-of-at-least-thirty-two-characters"


def person(locale):
    return SimpleNamespace(full_name="Lou <Nomade>", email="lou@example.org", locale=locale)


def test_html_escapes_every_value_and_the_text_part_keeps_it_as_typed():
    mail = templates.booking_confirmed(person("fr"), BOOKING)
    assert "Relais <b>Tom & Jerry</b>" in mail.body and "Lou <Nomade>" in mail.body
    assert "<b>Tom" not in mail.html
    assert "Relais &lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in mail.html


def test_french_by_default_english_when_chosen_and_french_for_an_unknown_locale():
    assert templates.booking_no_show(person("en"), BOOKING).subject.startswith("No-show recorded")
    assert templates.booking_no_show(person("fr"), BOOKING).subject.startswith("Absence")
    assert templates.booking_no_show(person("de"), BOOKING).subject.startswith("Absence")


def test_an_optional_mail_carries_rfc_8058_headers_and_a_footer_link():
    url = message_categories.link("https://relais.example", KEY, "u-1", "booking_receipts")
    mail = templates.booking_confirmed(
        person("en"), BOOKING, unsubscribe=url, category_label="booking confirmations")
    assert dict(mail.headers) == {"List-Unsubscribe": f"<{url}>",
                                  "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert f'href="{url}"' in mail.html and "Unsubscribe" in mail.html
    assert templates.booking_confirmed(person("en"), BOOKING).headers == ()


def test_an_unsubscribe_token_names_its_person_and_category_and_cannot_be_altered():
    token = message_categories.sign(KEY, "u-1", "reminders")
    assert message_categories.verify(KEY, token) == ("u-1", "reminders")
    payload, signature = token.split(".")
    forged = message_categories.sign("another-key-of-thirty-two-characters!", "u-2", "reminders")
    for bad in (forged, f"{forged.split('.')[0]}.{signature}", "x.y", "", "a.b.c",
                message_categories.sign(KEY, "u-1", "invoicing")):   # mandatory: no link
        with pytest.raises(message_categories.BadToken):
            message_categories.verify(KEY, bad)


@pytest.mark.parametrize("event_type, by, category", [
    ("booking.confirmed", None, "booking_receipts"),
    ("booking.cancelled", "member", "booking_receipts"),
    ("booking.cancelled", "relay_manager", "booking_changes"),
    ("booking.cancelled", "system", "booking_changes"),
    ("booking.no_show", None, "booking_changes"),
])
def test_what_someone_else_did_to_a_booking_cannot_be_turned_off(event_type, by, category):
    assert message_categories.booking_category(event_type, {"cancelled_by": by}) == category
    assert (category in message_categories.MANDATORY) == (category == "booking_changes")


def invite(booking, method="REQUEST"):
    return icalendar.Calendar.from_ical(calendar_invite.render(
        calendar_invite.from_booking(booking, method, "no-reply@relais.example",
                                     "lou@example.org", 'Lou "Nomade"\r\nX-EVIL:1'),
        datetime(2026, 11, 1, tzinfo=timezone.utc)))


def offsets_of(calendar):
    (zone,) = calendar.walk("VTIMEZONE")
    return {component["TZOFFSETTO"].to_ical() for component in zone.subcomponents}


def test_an_overseas_invitation_holds_its_zone_and_the_instants_of_the_booking():
    calendar = invite(BOOKING)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == datetime.fromisoformat(BOOKING["starts_at"])
    assert event.decoded("DTEND") == datetime.fromisoformat(BOOKING["ends_at"])
    assert offsets_of(calendar) == {"+1100"}
    assert "X-EVIL" not in event and event["ATTENDEE"].params["CN"] == "Lou 'Nomade' X-EVIL:1"
    assert str(event["LOCATION"]) == "Relais <b>Tom & Jerry</b>, 1 rue du Lac, 98800 Nouméa"


@pytest.mark.parametrize("day", [date(2027, 3, 28), date(2027, 3, 29), date(2026, 10, 25),
                                 date(2027, 7, 14)])
def test_paris_times_are_right_on_both_sides_of_a_clock_change(day):
    times = slot_times(day, "afternoon", DEFAULT_DAY, "Europe/Paris")
    booking = dict(BOOKING, timezone="Europe/Paris", starts_at=times.starts_at.isoformat(),
                   ends_at=times.ends_at.isoformat())
    calendar = invite(booking, "CANCEL")
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == times.starts_at
    assert event.decoded("DTSTART").strftime("%H:%M") == "13:30"
    assert (str(calendar["METHOD"]), event.decoded("SEQUENCE")) == ("CANCEL", 1)
    assert offsets_of(calendar) == {"+0100", "+0200"}


@pytest.mark.parametrize("local, due", [
    ("2027-03-27T16:59:59+01:00", None),
    ("2027-03-27T17:00:00+01:00", date(2027, 3, 28)),     # the eve of the clock change
    ("2027-03-27T23:59:00+01:00", date(2027, 3, 28)),
    ("2027-03-28T00:01:00+01:00", None),
])
def test_the_digest_is_due_from_five_in_the_relays_afternoon(local, due):
    assert daily_rules.due_day(datetime.fromisoformat(local), "Europe/Paris",
                               daily_rules.DIGEST_AT) == due


def test_a_reminder_is_keyed_by_its_booking_and_a_digest_by_its_relay_and_day():
    assert daily_rules.reminder_key("b-1") == daily_rules.reminder_key("b-1") != \
        daily_rules.reminder_key("b-2")
    assert daily_rules.digest_key("r-1", date(2027, 3, 28)) != \
        daily_rules.digest_key("r-1", date(2027, 3, 29))
