"""A few minutes of ordinary traffic on a demo network (after devtools.demo's
seed), so that the dashboards have something to show: people browsing and
booking desks at three relays in three departments, a few refusals (a desk
taken, someone already booked, the demo company's budget), cancellations in
time and late, a check-in, a rejected token, and one message no trusted
component published, parked in a dead-letter queue. Everything goes through
the public API like any client, except that message, published on the broker
as an intruder would."""
import itertools
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import requests

from devtools.demo import DEMO_PASSWORD, Api, next_weekday

PARIS = ZoneInfo("Europe/Paris")
ALWAYS_OPEN = {day: {"morning": {"opens": "00:00", "closes": "12:00"},
                     "afternoon": {"opens": "12:00", "closes": "23:30"}}
               for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                           "sunday")}
# Open round the clock, so that a slot runs now (check-in) and one starts within
# 24 h (a late cancellation) whatever the hour the pictures are made.
RELAYS = (("Relais de Tulle", "2 quai de la République", "19000", "Tulle", 45.2658, 1.7722),
          ("Relais de Bellac", "1 place de la République", "87300", "Bellac", 46.1219, 1.0486))
MEMBERS = ("lea", "marc", "ines", "paul", "zoe", "yann")


def traffic(base_url, admin_email, admin_password, seeded, amqp_uri, seconds, tick=2.0):
    """Run for about ``seconds``; returns what was done, by kind."""
    admin = Api(base_url)
    admin.login(admin_email, admin_password)
    desks = {seeded["relay"]["id"]: desks_of(admin, seeded["relay"]["id"])}
    for name, address, postcode, commune, latitude, longitude in RELAYS:
        relay = admin.post("/v1/relays", {
            "name": name, "address": address, "postcode": postcode, "commune": commune,
            "latitude": latitude, "longitude": longitude, "timezone": "Europe/Paris",
            "opening_hours": ALWAYS_OPEN, "closed_on_public_holidays": False},
            key=f"traffic-relay-{postcode}")
        desks[relay["id"]] = [admin.post(f"/v1/relays/{relay['id']}/spaces",
                                         {"kind": "desk", "name": f"Bureau {n}"},
                                         key=f"traffic-desk-{postcode}-{n}")["id"]
                              for n in (1, 2, 3)]
    members = company_members(admin, base_url)
    done = {"dead letter": dead_letter(admin, amqp_uri)}
    tulle, bellac = list(desks)[1:]
    employee = Api(base_url)
    employee.login(seeded["employee"]["email"], DEMO_PASSWORD)
    plan = itertools.cycle([(relay, desk) for relay, ids in desks.items() for desk in ids])
    made, deadline = [], time.monotonic() + seconds
    for count in itertools.count():
        if time.monotonic() > deadline:
            break
        member = members[count % len(members)]
        member.http.get(f"{base_url}/v1/relays", timeout=10)
        member.http.get(f"{base_url}/v1/bookings", timeout=10)
        if count % 3 == 0:   # a desk some days ahead; now and then taken, or already booked
            relay, desk = next(plan)
            day = date.today() + timedelta(days=2 + count % 9)
            answer = post(member, "/v1/bookings",
                          {"space_id": desk, "date": day.isoformat(), "slot": "morning"})
            done[f"booking {answer.status_code}"] = done.get(f"booking {answer.status_code}", 0) + 1
            if answer.status_code == 201:
                made.append((member, answer.json()["id"]))
        if count % 8 == 7 and made:   # cancelled in time
            member_, booking = made.pop(0)
            done["cancelled"] = done.get("cancelled", 0) + (
                post(member_, f"/v1/bookings/{booking}/cancel", {}).status_code == 200)
        if count == 12:   # once Prometheus has seen the new relays (a counter's first
            # sample is its baseline: what happened before it does not count)
            done["check-in"] = check_in(admin, members[0], desks[tulle][0], tulle)
            done["late cancellation"] = late_cancellation(members[1], desks[bellac][0])
        if count % 10 == 5:   # an expired or forged token
            requests.get(f"{base_url}/v1/bookings", timeout=10,
                         headers={"Authorization": "Bearer not-a-token"})
            done["token rejected"] = done.get("token rejected", 0) + 1
        if count % 12 == 11:  # the demo company's budget: four half-days, then refused
            day = next_weekday(date.today() + timedelta(days=2 + count % 20))
            answer = post(employee, "/v1/bookings", {"space_id": desks[seeded["relay"]["id"]][1],
                                                     "date": day.isoformat(), "slot": "afternoon"})
            done[f"demo booking {answer.status_code}"] = \
                done.get(f"demo booking {answer.status_code}", 0) + 1
        time.sleep(tick)
    return done


def post(api, path, body):
    return api.http.post(api.base_url + path, json=body, timeout=api.timeout)


def desks_of(admin, relay_id):
    return [space["id"] for space in admin.get(f"/v1/relays/{relay_id}")["spaces"]
            if space["kind"] == "desk"]


def company_members(admin, base_url):
    company = admin.post("/v1/organisations", {
        "kind": "corporate", "name": "Coopérative Limousine (démo)",
        "legal_name": "Coopérative Limousine SCOP", "siret": "55208131766522",
        "billing_email": "compta@coop-limousine.example",
        "billing_address": "3 rue Jean Jaurès, 87000 Limoges"}, key="traffic-company")
    members = []
    for name in MEMBERS:
        admin.post(f"/v1/organisations/{company['id']}/users", {
            "email": f"{name}@coop-limousine.example", "full_name": name.title(),
            "roles": ["member"], "password": DEMO_PASSWORD}, key=f"traffic-member-{name}")
        member = Api(base_url)
        member.login(f"{name}@coop-limousine.example", DEMO_PASSWORD)
        members.append(member)
    return members


def running_slot(now):
    """The slot of ALWAYS_OPEN running at ``now`` (Paris), or None."""
    if now.hour < 12:
        return "morning"
    return "afternoon" if (now.hour, now.minute) < (23, 30) else None


def check_in(admin, member, desk, relay_id):
    now = datetime.now(PARIS)
    slot = running_slot(now)
    if slot is None:
        return "skipped: no slot running at this hour"
    booking = post(member, "/v1/bookings",
                   {"space_id": desk, "date": now.date().isoformat(), "slot": slot})
    if booking.status_code != 201:
        return f"booking refused: {booking.status_code}"
    code = admin.get(f"/v1/relays/{relay_id}/day")["check_in_code"]
    return post(member, f"/v1/bookings/{booking.json()['id']}/check-in", {"code": code}).status_code


def late_cancellation(member, desk):
    """A booking of the next slot to start (within 24 h), cancelled: late."""
    now = datetime.now(PARIS)
    day, slot = ((now.date(), "afternoon") if now.hour < 12
                 else (now.date() + timedelta(days=1), "morning"))
    booking = post(member, "/v1/bookings",
                   {"space_id": desk, "date": day.isoformat(), "slot": slot})
    if booking.status_code != 201:
        return f"booking refused: {booking.status_code}"
    return post(member, f"/v1/bookings/{booking.json()['id']}/cancel", {}).status_code


def dead_letter(admin, amqp_uri):
    """A message without an envelope, on notify's queue: parked at once in its
    ``.dead`` queue (see README, "Events not arriving")."""
    from kombu import Connection
    queue = next(q["queue"] for q in admin.get("/v1/dead-letters") if q["service"] == "notify")
    with Connection(amqp_uri) as connection:
        connection.Producer().publish({"not": "an envelope"}, routing_key=queue[:-len(".dead")],
                                      serializer="json")
    return queue
