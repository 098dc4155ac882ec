"""Security: an employee cannot "move" to get round a radius policy (issue 13).
identity and booking run together on the real broker: the home booking
measures from is the one the company's admin set, whoever edits the profile
afterwards, and the audit log says who set it."""
from sqlalchemy import text

from services.booking.service import BookingService
from services.identity.bootstrap import bootstrap
from services.identity.service import IdentityService
from tests.integration.booking_helpers import next_open_day, refusal, relay_with
from tests.integration.conftest import ADMIN, database_url, wait_for
from tests.integration.test_identity_service import COMPANY, employee, key_creator

GUERET = {"home_commune": "Guéret", "home_latitude": 46.17, "home_longitude": 1.87}
LIMOGES = {"home_commune": "Limoges", "home_latitude": 45.83, "home_longitude": 1.26}


def booking_home(databases, user_id):
    with databases["booking"].connect() as conn:
        return conn.execute(text("SELECT home_commune, profile_as_of FROM members "
                                 "WHERE user_id = :id"), {"id": user_id}).first()


def test_the_radius_policy_measures_from_the_home_the_admin_set(start_service, rpc, databases):
    bootstrap(database_url("identity"), None, None)
    start_service(IdentityService)
    start_service(BookingService)
    identity, booking = rpc("identity"), rpc("booking")
    company = identity.create_organisation(caller=ADMIN, payload=COMPANY)
    admin = key_creator(identity, company)
    user = employee(identity, company)
    me = {"user_id": user["id"], "organisation_id": company["id"], "roles": ["member"]}
    far, (far_desk,) = relay_with(booking, name="Limoges", latitude=45.8336, longitude=1.2611)
    identity.set_policy(caller=admin, organisation_id=company["id"],
                        payload={"allowed_relays": "radius", "radius_km": 30})

    set_by_admin = identity.set_profile(caller=admin, user_id=user["id"], payload=GUERET)
    assert (set_by_admin["policy_home_commune"], set_by_admin["policy_home_set_by"]) == (
        "Guéret", admin["user_id"])
    assert wait_for(lambda: (booking_home(databases, user["id"]) or [None])[0] == "Guéret")
    first = booking_home(databases, user["id"]).profile_as_of

    moved = identity.set_profile(caller=me, user_id=user["id"], payload=LIMOGES)
    assert moved["home_commune"] == "Limoges" and moved["policy_home_commune"] == "Guéret"
    assert wait_for(lambda: booking_home(databases, user["id"]).profile_as_of > first)
    assert booking_home(databases, user["id"]).home_commune == "Guéret"
    kind, detail = refusal(booking.book, caller=me, payload={
        "space_id": far_desk["id"], "date": next_open_day(), "slot": "morning"})
    assert kind == "Forbidden" and "policy-relay-too-far" in detail

    entries = identity.list_audit_entries(caller=admin, organisation_id=company["id"],
                                          query={"action": "profile.changed"})
    assert [(e["actor_id"], e["details"]["policy_home_set"]) for e in entries] == [
        (user["id"], False), (admin["user_id"], True)]
