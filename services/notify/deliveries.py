"""Use cases of notify: keep contacts, send what events ask to be told."""
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from services.notify import templates
from services.notify.models import Contact, Delivery


class ContactUnknown(Exception):
    """The member's contact has not arrived from identity yet: retry later."""


def remember_contact(uow, data):
    values = {"email": data["email"], "full_name": data["full_name"],
              "organisation_id": data["organisation_id"]}
    uow.session.execute(
        insert(Contact).values(user_id=data["user_id"], **values)
        .on_conflict_do_update(index_elements=[Contact.user_id], set_=values))


def message_id_for(event):
    return f"<{event['event_id']}@relais-des-possibles>"


# What each booking event tells the member, in words (templates.py).
BOOKING_MAILS = {
    "booking.confirmed": templates.booking_confirmed,
    "booking.cancelled": templates.booking_cancelled,
    "booking.no_show": templates.booking_no_show,
}


def tell_member(uow, mailer, event, booking):
    """Mail the member about a booking event (its data dumped to JSON values)."""
    contact = uow.session.get(Contact, booking["member_id"])
    if contact is None:
        raise ContactUnknown(f"no contact yet for member {booking['member_id']}")
    mail = BOOKING_MAILS[event["type"]](contact, booking)
    uow.session.add(Delivery(event_id=event["event_id"], event_type=event["type"],
                             channel="email", recipient=mail.to, subject=mail.subject,
                             message_id=message_id_for(event)))
    uow.session.flush()
    # Sent inside the transaction: if sending fails, the delivery row and the
    # inbox mark roll back and the event is retried.
    mailer.send(mail, message_id_for(event))


def list_deliveries(session, limit, offset):
    return session.execute(
        select(Delivery).order_by(Delivery.sent_at.desc(), Delivery.id).limit(limit).offset(offset)
    ).scalars().all()
