"""Who benefits, on booking's real database and broker: organisations' kinds
learnt from identity's event, people per relay and audience with first visits
and median distance counted by hand, small cells blanked, who sees what, and
a public export that names no one."""
import csv
import io
from datetime import date, datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.caller import load_caller
from services.booking import who_benefits
from services.booking.models import Member, OrganisationKind
from tests.integration.booking_helpers import corporate_admin, manager_of, refusal, relay_with
from tests.integration.conftest import ADMIN, member, rows
from tests.integration.test_booking_projections_and_races import identity_event
from tests.integration.test_impact_report import HOME
from tests.integration.test_network_health import ORG, OTHER_ORG, booking_row

RESIDENTS = "00000000-0000-4000-8000-0000000000ee"      # individual accounts
PROGRAMME = "00000000-0000-4000-8000-0000000000ff"
MARCH = "2026-03"


def person(number, organisation_id, home=True, programmes=()):
    return Member(user_id=member(number)["user_id"], organisation_id=organisation_id,
                  full_name=f"Personne {number}", email=f"p{number}@example.org",
                  home_commune="Aubusson" if home else None,
                  home_latitude=HOME[0] if home else None,
                  home_longitude=HOME[1] if home else None, programmes=list(programmes))


def space(booking, relay, kind, name):
    return booking.create_space(caller=ADMIN, relay_id=relay["id"],
                                payload={"kind": kind, "name": name})


def visit(relay, desk, number, day, organisation_id=ORG, status="completed", programme_id=None):
    row = booking_row(relay, desk, member(number), day, "morning", status,
                      organisation_id=organisation_id)
    row.programme_id = programme_id
    return row


def seeded(booking, databases):
    """Felletin: five employees of a company (member 1 came in February
    already; member 5 declared no home), a freelancer, a resident under a
    programme, and member 2 also in the tele-consultation booth. Guéret,
    another operator's relay: five freelancers."""
    felletin, (desk,) = relay_with(booking)
    booth = space(booking, felletin, "teleconsultation_booth", "Cabine")
    gueret, (gueret_desk,) = relay_with(booking, name="Relais de Guéret", postcode="23000",
                                        commune="Guéret", latitude=46.17, longitude=1.87)
    with Session(databases["booking"]) as session, session.begin():
        session.add_all([OrganisationKind(organisation_id=ORG, kind="corporate"),
                         OrganisationKind(organisation_id=RESIDENTS, kind="individual")])
        session.add_all([person(n, ORG, home=n != 5) for n in range(1, 6)])
        session.add_all([person(6, RESIDENTS, home=False),
                         person(7, RESIDENTS, home=False, programmes=[{"id": PROGRAMME}])])
        session.add_all([person(n, RESIDENTS) for n in range(10, 15)])
        session.add(visit(felletin, desk, 1, date(2026, 2, 20)))
        session.add_all([visit(felletin, desk, n, date(2026, 3, n)) for n in range(1, 6)])
        session.add(visit(felletin, booth, 2, date(2026, 3, 20)))
        session.add(visit(felletin, desk, 6, date(2026, 3, 10), RESIDENTS))
        session.add(visit(felletin, desk, 7, date(2026, 3, 11), RESIDENTS, programme_id=PROGRAMME))
        session.add(visit(felletin, desk, 8, date(2026, 3, 12), status="cancelled"))
        session.add(visit(felletin, desk, 1, date(2026, 4, 1)))
        session.add_all([visit(gueret, gueret_desk, n, date(2026, 3, n - 5), RESIDENTS)
                         for n in range(10, 15)])
    return felletin, gueret


def cells(rows_, relay_name):
    return {row["audience"]: row for row in rows_ if row["relay_name"] == relay_name}


def report(databases, caller):
    with Session(databases["booking"]) as session:
        return who_benefits.report(session, load_caller(caller), MARCH)["rows"]


def test_booking_learns_organisations_kinds_from_identity(booking, publish_event, databases):
    created = {"organisation_id": ORG, "kind": "corporate", "name": "Acme"}
    for _ in range(2):          # a redelivery, or the same event again, changes nothing
        identity_event(publish_event, databases, "identity.organisation_created", created,
                       datetime(2026, 3, 1, tzinfo=timezone.utc))
    assert [dict(row) for row in rows(databases["booking"],
                                      "SELECT organisation_id::text, kind FROM organisation_kinds")] == [
        {"organisation_id": ORG, "kind": "corporate"}]


def test_people_by_audience_first_visits_and_median_distance(booking, databases):
    seeded(booking, databases)
    felletin = cells(booking.who_benefits(caller=ADMIN, query={"month": MARCH})["rows"],
                     "Relais de Felletin")
    assert list(felletin) == ["all", "corporate_employee", "freelancer", "resident", "student",
                              "patient", "other"]
    # Members 1 to 7 (8 cancelled); all but member 1 came for the first time;
    # four declared the same home, 10 km south of Felletin.
    assert felletin["all"] | {"relay_id": None} == {
        "month": MARCH, "relay_id": None, "relay_name": "Relais de Felletin",
        "commune": "Felletin", "department": "23", "audience": "all", "people": 7,
        "first_visit_share": 0.86, "median_distance_km": 10.0, "distance_unknown": 3,
        "suppressed": False}
    assert (felletin["corporate_employee"]["people"],
            felletin["corporate_employee"]["first_visit_share"],
            felletin["corporate_employee"]["median_distance_km"],
            felletin["corporate_employee"]["distance_unknown"]) == (5, 0.8, 10.0, 1)
    for small in ("freelancer", "resident", "patient", "student", "other"):
        assert felletin[small]["suppressed"] is True and felletin[small]["people"] is None


def test_a_manager_sees_their_relays_and_a_company_its_employees_only(booking, databases):
    felletin, gueret = seeded(booking, databases)
    seen = report(databases, manager_of(felletin["id"]))
    assert {row["relay_name"] for row in seen} == {"Relais de Felletin"}
    assert report(databases, manager_of(gueret["id"], number=901))[0]["relay_name"] == \
        "Relais de Guéret"
    mine = report(databases, corporate_admin(ORG))
    assert {row["relay_name"] for row in mine} == {"Relais de Felletin"}
    assert cells(mine, "Relais de Felletin")["all"]["people"] == 5   # not the freelancer's
    other = report(databases, corporate_admin(OTHER_ORG, number=801))
    assert other == []
    assert refusal(booking.who_benefits, caller=member(1),
                   query={"month": MARCH})[0] == "Forbidden"
    text = booking.who_benefits_csv(caller=manager_of(felletin["id"]), query={"month": MARCH})
    assert text.startswith(f"# month={MARCH} who benefits\n")
    assert "Guéret" not in text


def test_the_public_export_has_a_licence_and_holds_no_personal_data(booking, databases):
    felletin, gueret = seeded(booking, databases)
    text = booking.open_data_relay_use(query={"month": MARCH})
    licence, body = text.split("\n", 1)
    assert licence.startswith("# Licence Ouverte / Open Licence 2.0")
    published = list(csv.DictReader(io.StringIO(body)))
    assert "relay_id" not in published[0]
    assert cells(published, "Relais de Guéret")["freelancer"]["people"] == "5"
    assert cells(published, "Relais de Felletin")["patient"]["people"] == ""
    with Session(databases["booking"]) as session:
        members = session.scalars(select(Member)).all()
    assert len(members) == 12
    for someone in members:
        for personal in (someone.full_name, someone.email, someone.home_commune,
                         someone.user_id, someone.organisation_id):
            assert personal is None or personal not in text, personal
    for identifier in (felletin["id"], gueret["id"], ORG, RESIDENTS, PROGRAMME):
        assert identifier not in text
