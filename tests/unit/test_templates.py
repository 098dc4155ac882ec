"""The booking confirmation mail, in French, with the relay's local times."""
from datetime import date
from types import SimpleNamespace

import pytest

from services.booking.slots import DEFAULT_DAY, slot_times
from services.notify.templates import booking_confirmed

HOURS = DEFAULT_DAY  # 08:30-12:30, 13:30-18:00
BOOKING_ID = "7b0c5a8e-7f4e-4a57-9d0e-3c4a1e2b9f10"
CONTACT = SimpleNamespace(full_name="Camille Martin", email="camille.martin@example.org",
                          locale="fr")


def booking(day, slot, tz_name="Europe/Paris", space_kind="desk"):
    """``booking.confirmed`` data as notify receives it (times as ISO strings)."""
    times = slot_times(day, slot, HOURS, tz_name)
    return {
        "booking_id": BOOKING_ID, "relay_id": "r-1", "relay_name": "Relais de Saint-Affrique",
        "space_id": "s-1", "space_name": "Poste 3", "space_kind": space_kind,
        "member_id": "u-1", "organisation_id": "o-1", "date": day.isoformat(), "slot": slot,
        "half_days": 1, "timezone": tz_name,
        "starts_at": times.starts_at.isoformat(), "ends_at": times.ends_at.isoformat(),
        "local_starts_at": times.local_starts_at.isoformat(),
        "local_ends_at": times.local_ends_at.isoformat(),
        "duration_minutes": times.duration_minutes,
    }


def test_confirmation_names_relay_date_local_times_slot_and_reference():
    mail = booking_confirmed(CONTACT, booking(date(2027, 3, 29), "morning"))

    assert mail.to == "camille.martin@example.org"
    assert mail.subject == "Réservation confirmée : Relais de Saint-Affrique, 29/03/2027"
    assert mail.body.startswith("Bonjour Camille Martin,")
    assert "au relais Relais de Saint-Affrique" in mail.body
    # local time (08:30 CEST), not the UTC instant (06:30Z)
    assert "le 29/03/2027, matin (08:30–12:30)" in mail.body
    assert "06:30" not in mail.body
    assert "heure locale du relais (Europe/Paris)" in mail.body
    assert f"Référence : {BOOKING_ID}" in mail.body
    assert "un poste de travail (Poste 3)" in mail.body


@pytest.mark.parametrize("slot, words", [
    ("morning", "matin (08:30–12:30)"),
    ("afternoon", "après-midi (13:30–18:00)"),
    ("day", "journée (08:30–18:00)"),
])
def test_slot_is_named_in_french(slot, words):
    mail = booking_confirmed(CONTACT, booking(date(2026, 10, 26), slot))

    assert f"le 26/10/2026, {words}" in mail.body


def test_overseas_relay_shows_its_own_local_times():
    mail = booking_confirmed(CONTACT, booking(date(2027, 1, 12), "morning", "America/Cayenne"))

    assert "12/01/2027, matin (08:30–12:30)" in mail.body
    assert "11:30" not in mail.body  # the UTC start
    assert "(America/Cayenne)" in mail.body


def test_noumea_date_is_the_local_date_not_the_utc_one():
    """08:30 in Nouméa on 1 Dec is 21:30Z on 30 Nov: the mail says 1 Dec."""
    mail = booking_confirmed(CONTACT, booking(date(2026, 12, 1), "morning", "Pacific/Noumea"))

    assert mail.subject.endswith(", 01/12/2026")
    assert "30/11/2026" not in mail.body


def test_meeting_room_is_named_as_a_room():
    mail = booking_confirmed(CONTACT, booking(date(2027, 3, 29), "morning",
                                              space_kind="meeting_room"))

    assert "une salle (Poste 3)" in mail.body
