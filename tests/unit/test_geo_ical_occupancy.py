from datetime import date, datetime, time, timezone

import pytest

from services.booking import ical
from services.booking.geo import bounding_boxes, haversine_km
from services.booking.occupancy import DayBooking, day_occupancy
from services.booking.slots import DayHours


def test_haversine_paris_to_lyon():
    assert haversine_km(48.8566, 2.3522, 45.764, 4.8357) == pytest.approx(391.5, abs=1)
    assert haversine_km(46.1, 1.8, 46.1, 1.8) == 0


@pytest.mark.parametrize("lat, lon", [(46.17, 1.87), (-17.53, -149.56), (-13.28, -176.17),
                                      (4.93, -52.33)])
def test_the_bounding_box_holds_every_point_of_the_circle(lat, lon):
    radius = 300
    boxes = bounding_boxes(lat, lon, radius)
    for bearing in range(0, 360, 5):
        # Points on the circle: walk the radius out along a bearing.
        from math import asin, atan2, cos, degrees, radians, sin
        d = radius / 6371.0088
        phi, lam, theta = radians(lat), radians(lon), radians(bearing)
        phi2 = asin(sin(phi) * cos(d) + cos(phi) * sin(d) * cos(theta))
        lam2 = lam + atan2(sin(theta) * sin(d) * cos(phi), cos(d) - sin(phi) * sin(phi2))
        p_lat, p_lon = degrees(phi2), (degrees(lam2) + 540) % 360 - 180
        assert any(b[0] <= p_lat <= b[1] and b[2] <= p_lon <= b[3] for b in boxes), (bearing, boxes)


def test_a_box_across_the_antimeridian_is_split_in_two():
    boxes = bounding_boxes(-13.28, -179.9, 50)   # near Wallis
    assert len(boxes) == 2
    assert any(b[3] == 180.0 for b in boxes) and any(b[2] == -180.0 for b in boxes)


def feed_entry(**changes):
    values = dict(
        booking_id="b-1", status="confirmed",
        starts_at=datetime(2026, 12, 3, 7, 30, tzinfo=timezone.utc),
        ends_at=datetime(2026, 12, 3, 11, 30, tzinfo=timezone.utc),
        updated_at=datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc),
        relay_name="Relais de Guéret", relay_address="2 place Bonnyaud, 23000 Guéret",
        space_name="Bureau 1", space_kind="desk", local_times="03/12/2026 08:30–12:30 (Europe/Paris)")
    values.update(changes)
    return ical.FeedEntry(**values)


def test_a_name_with_control_characters_cannot_inject_a_property():
    text = ical.render([feed_entry(space_name="B1\rATTENDEE:mailto:evil@example.org\x00\x1b\x7f",
                                   relay_name="Gu\réret\r\nbis")],
                       "Relais\x0b", datetime(2026, 12, 2, tzinfo=timezone.utc))
    unfolded = text.replace("\r\n ", "")
    lines = unfolded.split("\r\n")
    assert not any(line.startswith("ATTENDEE") for line in lines)
    assert "SUMMARY:Poste de travail B1ATTENDEE:mailto:evil@example.org – Guéret\\nbis" in lines
    assert "X-WR-CALNAME:Relais" in lines
    assert "\r" not in unfolded.replace("\r\n", "")
    assert not any(ord(char) < 32 and char not in "\r\n" or char == "\x7f" for char in unfolded)


@pytest.mark.parametrize("status, shown", [("confirmed", "CONFIRMED"), ("checked_in", "CONFIRMED"),
                                           ("completed", "CONFIRMED"), ("no_show", "CANCELLED"),
                                           ("cancelled", "CANCELLED")])
def test_a_booking_that_does_not_take_place_is_cancelled_in_the_calendar(status, shown):
    text = ical.render([feed_entry(status=status)], "Relais",
                       datetime(2026, 12, 2, tzinfo=timezone.utc))
    assert f"STATUS:{shown}" in text.split("\r\n")


def test_the_calendar_feed_is_rfc5545():
    entry = ical.FeedEntry(
        booking_id="b-1", status="cancelled",
        starts_at=datetime(2026, 12, 3, 7, 30, tzinfo=timezone.utc),
        ends_at=datetime(2026, 12, 3, 11, 30, tzinfo=timezone.utc),
        updated_at=datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc),
        relay_name="Relais de Guéret, centre; gare", relay_address="2 place Bonnyaud, 23000 Guéret",
        space_name="Bureau 1", space_kind="desk", local_times="03/12/2026 08:30–12:30 (Europe/Paris)")
    text = ical.render([entry], "Relais", datetime(2026, 12, 2, tzinfo=timezone.utc))
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert "UID:b-1@relais-des-possibles.fr" in lines
    assert "DTSTART:20261203T073000Z" in lines and "DTEND:20261203T113000Z" in lines
    assert "STATUS:CANCELLED" in lines and "SEQUENCE:3" in lines
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = text.replace("\r\n ", "")
    assert "Relais de Guéret\\, centre\\; gare" in unfolded
    assert "\n" not in text.replace("\r\n", "")


def test_occupancy_counts_half_days_for_desks_and_hours_for_rooms():
    hours = DayHours((time(8, 30), time(12, 30)), (time(13, 30), time(18, 0)))
    bookings = [DayBooking("desk", "day", 570, "checked_in"),
                DayBooking("desk", "morning", 240, "confirmed"),
                DayBooking("desk", "afternoon", 270, "no_show"),
                DayBooking("meeting_room", "hours", 120, "confirmed")]
    result = day_occupancy(date(2026, 12, 3), None, hours, desks=4, rooms=1, bookings=bookings)
    assert (result["desk_half_days_booked"], result["desk_half_days_open"]) == (3, 8)
    assert result["desk_occupancy"] == 0.375
    assert (result["room_hours_booked"], result["room_hours_open"]) == (2, 8.5)
    assert (result["checked_in"], result["no_shows"]) == (1, 1)
    closed = day_occupancy(date(2026, 12, 25), "Noël", hours, 4, 1, [])
    assert closed["open"] is False and closed["desk_occupancy"] is None


@pytest.mark.parametrize("now, month", [
    (datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc), "2026-12"),  # 00:30 in Paris
    (datetime(2026, 12, 31, 22, 59, tzinfo=timezone.utc), "2026-12"),  # 23:59 in Paris
    (datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc), "2027-01"),
    (datetime(2026, 6, 30, 22, 0, tzinfo=timezone.utc), "2026-07"),    # summer time: UTC+2
])
def test_a_corporate_admins_default_month_is_the_month_in_paris(now, month):
    from services.booking.views import billing_month
    assert billing_month(now) == month
