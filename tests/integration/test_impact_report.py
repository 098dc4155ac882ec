"""Monthly impact reports on booking's real database: hand-computed figures,
unknown without a profile, small cells blanked, who sees what, and an audit
file without personal data."""
import csv
import io
from datetime import date

import pytest
from sqlalchemy.orm import Session

from common.caller import load_caller
from services.booking import impact_report
from services.booking.geo import haversine_km
from services.booking.impact import EmissionFactors
from services.booking.models import Member
from tests.integration.booking_helpers import corporate_admin, manager_of, refusal, relay_with
from tests.integration.conftest import ADMIN, member
from tests.integration.test_network_health import ORG, OTHER_ORG, booking_row

FACTORS = EmissionFactors("test-1", 1.3, {"car": 0.2, "train": 0.03})
# The relay (Felletin, booking_helpers.RELAY) is at 45.88, 2.17; 0.0899322 degrees
# of latitude south is 10 km away: 13 km by road with the detour factor.
HOME = (45.88 - 10 / 111.19508, 2.17)


def profile(number, commute_km, mode, organisation_id=ORG, home=HOME):
    return Member(user_id=member(number)["user_id"], organisation_id=organisation_id,
                  full_name=f"Personne {number}", email=f"p{number}@example.org",
                  home_commune="Aubusson", home_latitude=home[0], home_longitude=home[1],
                  commute_km=commute_km, commute_mode=mode)


def seeded(booking, databases):
    relay, (desk,) = relay_with(booking)
    with Session(databases["booking"]) as session, session.begin():
        session.add_all([
            profile(1, 45, "car"),                      # a day: 2 x (45 - 13) = 64 km, 12.8 kg
            profile(2, 8, "train"),                     # a half-day: (8 - 13) = -5 km, -0.15 kg
            Member(user_id=member(3)["user_id"], organisation_id=OTHER_ORG),  # no profile
            booking_row(relay, desk, member(1), date(2026, 3, 16), "day", "completed"),
            booking_row(relay, desk, member(2), date(2026, 3, 17), "morning", "completed"),
            booking_row(relay, desk, member(3), date(2026, 3, 18), "morning", "completed",
                        organisation_id=OTHER_ORG),
            booking_row(relay, desk, member(1), date(2026, 3, 19), "morning", "no_show"),
            booking_row(relay, desk, member(1), date(2026, 4, 1), "morning", "completed"),
        ])
    return relay


def report(databases, caller, by):
    with Session(databases["booking"]) as session:
        return impact_report.report(session, load_caller(caller), "2026-03", by, FACTORS)


def test_a_company_sees_each_employee_trip_avoided(booking, databases):
    seeded(booking, databases)
    found = report(databases, corporate_admin(ORG), "member")
    assert found["factors_version"] == "test-1"
    assert found["rows"] == [
        {"member_id": member(1)["user_id"], "people": 1, "days": 1, "bookings": 1,
         "bookings_without_profile": 0, "km_avoided": 64.0, "kg_co2e_avoided": 12.8},
        {"member_id": member(2)["user_id"], "people": 1, "days": 1, "bookings": 1,
         "bookings_without_profile": 0, "km_avoided": -5.0, "kg_co2e_avoided": -0.15}]


def test_relay_figures_blank_cells_of_fewer_than_five_people(booking, databases):
    relay = seeded(booking, databases)
    (row,) = report(databases, ADMIN, "relay")["rows"]
    assert row == {"relay_id": relay["id"], "relay_name": relay["name"], "people": None,
                   "days": None, "bookings": None, "bookings_without_profile": None,
                   "km_avoided": None, "kg_co2e_avoided": None, "suppressed": True}


def test_five_people_are_shown_and_unknowns_counted_apart(booking, databases):
    relay, (desk,) = relay_with(booking)
    with Session(databases["booking"]) as session, session.begin():
        session.add_all([profile(n, 45, "car") for n in range(1, 5)])
        session.add_all([booking_row(relay, desk, member(n), date(2026, 3, 2 + n), "day",
                                     "completed") for n in range(1, 6)])  # member 5: no profile
    (row,) = report(databases, ADMIN, "department")["rows"]
    assert row == {"department": "23", "people": 5, "days": 5, "bookings": 5,
                   "bookings_without_profile": 1, "km_avoided": 256.0,
                   "kg_co2e_avoided": 51.2, "suppressed": False}


def test_who_may_ask_what(booking, databases):
    relay = seeded(booking, databases)
    assert report(databases, manager_of("00000000-0000-4000-8000-00000000abcd"), "relay")[
        "rows"] == []
    assert len(report(databases, manager_of(relay["id"]), "relay")["rows"]) == 1
    for caller, by in ((ADMIN, "member"), (manager_of(relay["id"]), "member"),
                       (member(1), "relay")):
        assert refusal(booking.impact_report, caller=caller,
                       query={"month": "2026-03", "by": by})[0] == "Forbidden"


def test_the_audit_file_recomputes_each_booking_without_naming_anyone(booking, databases):
    seeded(booking, databases)
    with Session(databases["booking"]) as session:
        text = impact_report.audit_csv(session, load_caller(ADMIN), "2026-03", FACTORS)
    assert text.startswith("# month=2026-03 factors=test-1\n")
    rows = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
    assert [(r["date"], r["half_days"], r["known"], r["km_avoided"], r["factor_kg_per_km"],
             r["unknown_because"]) for r in rows] == [
        ("2026-03-16", "2", "True", "64.0", "0.2", ""),
        ("2026-03-17", "1", "True", "-5.0", "0.03", ""),
        ("2026-03-18", "1", "False", "", "", "no-commute-declared")]
    for personal in ("Personne", "@example.org", "Aubusson", member(1)["user_id"]):
        assert personal not in text


def test_the_open_data_export_has_a_licence_blanks_small_cells_and_names_no_one(
        booking, databases):
    small = seeded(booking, databases)          # 3 people in March
    big, (desk,) = relay_with(booking, name="Relais de Guéret", postcode="23000",
                              latitude=46.17, longitude=1.87)
    with Session(databases["booking"]) as session, session.begin():
        session.add_all([profile(n, 30, "car") for n in range(10, 16)])
        # Six people in March; member 10 came in February already.
        session.add(booking_row(big, desk, member(10), date(2026, 2, 20), "day", "completed"))
        session.add_all([booking_row(big, desk, member(n), date(2026, 3, n - 7), "day",
                                     "completed") for n in range(10, 16)])
    text = booking.open_data_relay_use(query={"month": "2026-03"})
    assert text.startswith("# Licence Ouverte / Open Licence 2.0")
    rows = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
    by_relay = {row["relay_name"]: row for row in rows if row["audience"] == "all"}
    assert by_relay[small["name"]]["people"] == "" and by_relay[small["name"]]["suppressed"] == "True"
    shown = by_relay["Relais de Guéret"]
    # Everyone's home is 10 km south of Felletin: the median is that distance to Guéret.
    assert (shown["people"], shown["first_visit_share"], shown["suppressed"]) == (
        "6", "0.83", "False")
    assert float(shown["median_distance_km"]) == pytest.approx(
        haversine_km(*HOME, 46.17, 1.87), abs=0.1)
    for personal in ("Personne", "@example.org", "Aubusson", member(10)["user_id"], ORG):
        assert personal not in text
