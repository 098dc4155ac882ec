"""Pages anyone can open: the relays (list and map) and a relay's page."""
from web.routing import page

SERVICES = ("coworking", "meeting_room", "visio_room", "telemedicine", "distance_learning",
            "fablab", "repair_cafe", "cafe", "france_services", "printer", "parking",
            "ev_charging", "bike_parking", "childcare")


@page("/")
def relays(visit):
    args = visit.request.args
    place = (args.get("place") or "").strip()
    service = args.get("service") or ""
    query = {"limit": 200}
    if place.isdigit() and 2 <= len(place) <= 5:
        query["postcode_prefix"] = place
    elif place.upper() in ("2A", "2B"):
        query["department"] = place.upper()
    if service in SERVICES:
        query["service"] = service
    found = visit.api.get("/v1/relays", **query)
    if place and "postcode_prefix" not in query and "department" not in query:
        words = place.casefold()
        found = [r for r in found if words in r["commune"].casefold()
                 or words in r["name"].casefold()]
    return visit.render("relays.html", relays=found, place=place, service=service,
                        services=SERVICES)


@page("/relays/<relay_id>")
def relay(visit, relay_id):
    found = visit.api.get(f"/v1/relays/{relay_id}")
    for day in found.get("week") or []:
        desks = [s for s in day["spaces"] if s["kind"] == "desk"]
        day["desks"] = len(desks)
        day["free_desks"] = {slot: sum(slot in s["free_slots"] for s in desks)
                             for slot in ("morning", "afternoon")}
        # Rooms, booths, visio and study rooms: booked by the hour.
        day["rooms"] = [s for s in day["spaces"] if s["kind"] != "desk"]
    return visit.render("relay.html", relay=found)
