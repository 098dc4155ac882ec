"""Use cases of the day-before mails: a reminder to each member who booked,
and to each relay's managers the list of tomorrow's arrivals (rules and hours:
``daily_rules.py``). notify keeps what it needs of each booking from
booking.confirmed and booking.cancelled.

Once, with any number of replicas and restarts: each mail's delivery row is
keyed by what it is about (the booking's reminder; the relay and day's
digest, with the recipient) and committed just before the SMTP terminator
(deliveries.py's ``send_once``): a replica or a pass that finds it sends
nothing, even if the one that sent it was killed before its commit. A reminder
is sent in the transaction that sets its booking's ``reminded_at``, on a row
claimed with ``FOR UPDATE SKIP LOCKED`` (one per transaction); two replicas
racing for a digest both write it up to the terminator, one commits the row,
the other drops its connection (nothing delivered). A failure (SMTP down)
rolls that one mail back and the next pass sends it.
"""
import logging
from datetime import datetime, timedelta

from sqlalchemy import any_, bindparam, exists, select
from sqlalchemy.dialects.postgresql import insert

from services.notify import daily_rules, deliveries, preferences, templates
from services.notify.models import Booking, Contact, Delivery

log = logging.getLogger(__name__)


# Built once (a statement costs about as much to build as to run).
_REMEMBERED = insert(Booking.__table__).values(**{
    name: bindparam(name) for name in
    ("booking_id", "member_id", "relay_id", "date", "timezone", "status", "data")})
_CONFIRMED = _REMEMBERED.on_conflict_do_nothing(index_elements=["booking_id"])
_CANCELLED = _REMEMBERED.on_conflict_do_update(
    index_elements=["booking_id"],
    set_={"status": "cancelled", "data": _REMEMBERED.excluded.data})


def remember_booking(session, event_type, booking):
    """Keep a booking's facts (JSON values); a cancellation wins whatever the
    order the two events arrive in."""
    session.execute(*remembering(event_type, booking))


def remembering(event_type, booking):
    """``remember_booking``'s statement and its parameters: the booking
    consumers write it with the reads of the steps that follow (deliveries.py)."""
    cancelled = event_type == "booking.cancelled"
    return _CANCELLED if cancelled else _CONFIRMED, {
        "booking_id": booking["booking_id"], "member_id": booking["member_id"],
        "relay_id": booking["relay_id"], "date": booking["date"],
        "timezone": booking["timezone"], "status": "cancelled" if cancelled else "confirmed",
        "data": booking}


def send_due(session, mailer, links, now):
    """Send every reminder and digest due at ``now`` (aware); returns how many
    mails went out. Commits on ``session`` as it goes."""
    sent = 0
    for timezone_name in _zones_with_bookings(session, now):
        day = daily_rules.due_day(now, timezone_name, daily_rules.REMINDER_AT)
        if day is not None:
            sent += _send_reminders(session, mailer, links, timezone_name, day, now)
        day = daily_rules.due_day(now, timezone_name, daily_rules.DIGEST_AT)
        if day is not None:
            for relay_id in _relays_with_arrivals(session, timezone_name, day):
                sent += _send_digests(session, mailer, links, relay_id, day)
    return sent


def _zones_with_bookings(session, now):
    around = now.date()
    zones = session.execute(select(Booking.timezone).distinct().where(
        Booking.status == "confirmed",
        Booking.date.between(around - timedelta(days=1), around + timedelta(days=2)))).scalars()
    result = list(zones)
    session.commit()
    return result


def _send_reminders(session, mailer, links, timezone_name, day, now):
    """One booking per transaction, so that a failure rolls back only its own
    mail; the first failure ends the pass (the SMTP server is likely down)."""
    sent = 0
    while True:
        try:
            booking = session.execute(
                select(Booking).where(Booking.timezone == timezone_name, Booking.date == day,
                                      Booking.status == "confirmed",
                                      Booking.reminded_at.is_(None))
                .limit(1).with_for_update(skip_locked=True)).scalar_one_or_none()
            if booking is None:
                session.commit()
                return sent
            sent += _remind(session, mailer, links, booking)
            booking.reminded_at = now
            session.commit()
        except Exception:  # noqa: BLE001 - the next pass tries it again
            session.rollback()
            log.exception("could not send a reminder for %s", day)
            return sent


def _remind(session, mailer, links, booking):
    contact = _contact(session, booking.member_id)
    if contact is None or not preferences.wants(session, contact.user_id, "reminders"):
        return 0
    mail = templates.booking_reminder(contact, booking.data,
                                      **links.for_mail(contact.user_id, "reminders",
                                                       contact.locale))
    return _record_and_send(session, mailer, daily_rules.reminder_key(booking.booking_id),
                            "reminder.booking_tomorrow", mail)


def _relays_with_arrivals(session, timezone_name, day):
    relays = list(session.execute(select(Booking.relay_id).distinct().where(
        Booking.timezone == timezone_name, Booking.date == day,
        Booking.status == "confirmed")).scalars())
    session.commit()
    return relays


def _send_digests(session, mailer, links, relay_id, day):
    key = daily_rules.digest_key(relay_id, day)
    managers = session.execute(select(Contact).where(
        relay_id == any_(Contact.relay_ids), "relay_manager" == any_(Contact.roles),
        ~exists().where(Delivery.event_id == key, Delivery.recipient == Contact.email))
        .order_by(Contact.email)).scalars().all()
    sent = 0
    for manager in managers:
        if not preferences.wants(session, manager.user_id, "arrivals_digest"):
            continue
        try:
            mail = templates.arrivals_digest(
                manager, day, _arrivals(session, relay_id, day),
                **links.for_mail(manager.user_id, "arrivals_digest", manager.locale))
            sent += _record_and_send(session, mailer, key, "digest.arrivals_tomorrow", mail)
            session.commit()
        except Exception:  # noqa: BLE001 - the next pass tries again
            session.rollback()
            log.exception("could not send the digest of relay %s for %s", relay_id, day)
    return sent


def _arrivals(session, relay_id, day):
    rows = session.execute(
        select(Booking.data, Contact.full_name).outerjoin(
            Contact, Contact.user_id == Booking.member_id)
        .where(Booking.relay_id == relay_id, Booking.date == day,
               Booking.status == "confirmed")).all()
    arrivals = [{"name": name, "space_name": data["space_name"], "relay_name": data["relay_name"],
                 "starts": datetime.fromisoformat(data["local_starts_at"]),
                 "ends": datetime.fromisoformat(data["local_ends_at"])} for data, name in rows]
    return sorted(arrivals, key=lambda a: (a["starts"], a["space_name"], a["name"] or ""))


def _contact(session, user_id):
    return session.execute(select(Contact).where(Contact.user_id == user_id)).scalar_one_or_none()


def _record_and_send(session, mailer, key, kind, mail):
    """Mail once per key and recipient, by deliveries.py's hand-over point
    (its row committed just before the SMTP terminator, on its own); 0 if
    another replica or pass got there first."""
    return int(deliveries.send_once(session, mailer, key, kind, mail,
                                    f"<{key}@relais-des-possibles>"))
