"""The day-before mails with an injected clock: a reminder at 18:00 in the
relay's time zone to members who want it, tomorrow's arrivals to the relay's
managers at 17:00, each exactly once with two replicas at the same moment and
after a restart. Real PostgreSQL and an SMTP sink; ``now`` is an argument."""
import email
import email.policy
import threading
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from services.notify import daily_mails, deliveries, preferences
from services.notify.models import Preference
from services.notify.mailer import Mailer
from tests.integration.conftest import rows
from tests.integration.test_reliable_events import (  # noqa: F401 (fixtures)
    ORGANISATION_ID, RELAY_ID, smtp_sink,
)

PARIS, NOUMEA = ZoneInfo("Europe/Paris"), ZoneInfo("Pacific/Noumea")
DAY = date(2027, 3, 16)   # a Tuesday; the evening before is Monday 15 March
LINKS = preferences.UnsubscribeLinks("https://relais.example", "k" * 40)
MANAGER = str(uuid.uuid4())


def contact(session, user_id, name, roles=("member",), relay_ids=(), locale="fr"):
    deliveries.remember_contact(SimpleUow(session), {
        "user_id": user_id, "organisation_id": ORGANISATION_ID,
        "email": f"{name.lower()}@example.org", "full_name": name, "roles": list(roles),
        "relay_ids": list(relay_ids), "locale": locale})


class SimpleUow:
    def __init__(self, session):
        self.session = session


def booking(member_id, day=DAY, tz=PARIS, relay_id=RELAY_ID, space="Bureau 1"):
    starts = datetime.combine(day, time(8, 30), tz)
    ends = datetime.combine(day, time(12, 30), tz)
    return {"booking_id": str(uuid.uuid4()), "relay_id": relay_id,
            "relay_name": "Relais de Bourganeuf", "relay_address": "1 place, 23400 Bourganeuf",
            "space_id": str(uuid.uuid4()), "space_name": space, "space_kind": "desk",
            "member_id": member_id, "organisation_id": ORGANISATION_ID,
            "date": day.isoformat(), "slot": "morning", "half_days": 1, "timezone": tz.key,
            "starts_at": starts.astimezone(ZoneInfo("UTC")).isoformat(),
            "ends_at": ends.astimezone(ZoneInfo("UTC")).isoformat(),
            "local_starts_at": starts.isoformat(), "local_ends_at": ends.isoformat(),
            "duration_minutes": 240}


@pytest.fixture
def network_of_bookings(databases, smtp_sink):  # noqa: F811
    """Two members booked DAY in Paris (one wants no reminder), one booked and
    cancelled, one booked the day after; a relay manager runs the relay."""
    sink, port = smtp_sink()
    ana, bob, cyd = (str(uuid.uuid4()) for _ in range(3))
    with Session(databases["notify"]) as session:
        contact(session, ana, "Ana", locale="en")
        contact(session, bob, "Bob")
        contact(session, cyd, "Cyd")
        contact(session, MANAGER, "Manon", roles=("relay_manager",), relay_ids=(RELAY_ID,))
        session.execute(Preference.__table__.insert().values(
            user_id=bob, category="reminders", enabled=False))
        for event_type, data in [
                ("booking.confirmed", booking(ana)), ("booking.confirmed", booking(bob)),
                ("booking.cancelled", booking(cyd)),
                ("booking.confirmed", booking(cyd, day=DAY + timedelta(days=1)))]:
            daily_mails.remember_booking(session, event_type, data)
        session.commit()
    return sink, Mailer("127.0.0.1", port, "Relais <no-reply@relais.test>")


def send_at(databases, mailer, moment):
    with Session(databases["notify"]) as session:
        return daily_mails.send_due(session, mailer, LINKS, moment)


def subjects(sink):
    return sorted(email.message_from_bytes(m.content, policy=email.policy.default)["Subject"]
                  for m in sink.received)


def test_nothing_before_the_hour_then_each_mail_once(databases, network_of_bookings):
    sink, mailer = network_of_bookings
    evening = datetime.combine(DAY - timedelta(days=1), time(16, 59), PARIS)
    assert send_at(databases, mailer, evening) == 0

    # 17:00: the managers' digest of tomorrow's two arrivals (the cancelled one is not)
    assert send_at(databases, mailer, evening + timedelta(minutes=1)) == 1
    (digest,) = sink.received
    text = email.message_from_bytes(digest.content, policy=email.policy.default
                                    ).get_body(("plain",)).get_content()
    assert digest.rcpt_tos == ["manon@example.org"]
    assert "Ana" in text and "Bob" in text and "Cyd" not in text and "08:30–12:30" in text

    # 18:00: Ana's reminder, in English; Bob turned reminders off; Cyd cancelled
    assert send_at(databases, mailer, evening + timedelta(minutes=61)) == 1
    assert subjects(sink)[-1] == "Tomorrow: Relais de Bourganeuf, 16/03/2027"
    reminder = email.message_from_bytes(sink.received[-1].content, policy=email.policy.default)
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # a restart at 23:00: nothing again
    assert send_at(databases, mailer, evening + timedelta(hours=6)) == 0
    assert len(sink.received) == 2


def test_two_replicas_at_the_same_moment_send_each_mail_once(databases, network_of_bookings):
    sink, mailer = network_of_bookings
    moment = datetime.combine(DAY - timedelta(days=1), time(18, 30), PARIS)
    counts = []
    replicas = [threading.Thread(target=lambda: counts.append(send_at(databases, mailer, moment)))
                for _ in range(2)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join()
    assert sum(counts) == 2 and len(sink.received) == 2   # Ana's reminder, Manon's digest
    assert len(rows(databases["notify"], "SELECT 1 FROM deliveries")) == 2


def test_a_relay_far_away_follows_its_own_evening(databases, network_of_bookings):
    sink, mailer = network_of_bookings
    far = str(uuid.uuid4())
    with Session(databases["notify"]) as session:
        contact(session, far, "Noa")
        daily_mails.remember_booking(session, "booking.confirmed",
                                     booking(far, tz=NOUMEA, relay_id=str(uuid.uuid4())))
        session.commit()
    # 18:00 in Nouméa on 15 March is 08:00 in Paris: only Noa's reminder is due
    assert send_at(databases, mailer, datetime.combine(DAY - timedelta(days=1), time(18, 0),
                                                      NOUMEA)) == 1
    assert sink.received[0].rcpt_tos == ["noa@example.org"]
