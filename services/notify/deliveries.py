"""Use cases of notify: keep contacts, send what events ask to be told."""
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from services.notify import templates
from services.notify.models import Contact, Delivery


class ContactUnknown(Exception):
    """The person's contact has not arrived from identity yet: retry later."""


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
    mail = BOOKING_MAILS[event["type"]](_contact(uow, booking["member_id"]), booking)
    send(uow, mailer, event, mail)


def tell_invitation(uow, mailer, event, data, issue_link):
    """A user provisioned without a password: mail them the link to set one.

    The event names the invitation only; ``issue_link(invitation_id)`` asks
    identity for the link now (it mints a token and replaces any earlier one),
    so the secret is in that reply and in the mail, nowhere else. If this is
    retried (the SMTP server refused, or notify died after sending), the link
    is minted again and only the last one mailed works. An invitation that is
    not pending any more (revoked, used, expired, or the password was set
    meanwhile) is not mailed: ``issue_link`` returns None."""
    if not data.get("invitation_id"):
        return
    contact = _contact(uow, data["user_id"])
    link = issue_link(data["invitation_id"])
    if link is not None:
        send(uow, mailer, event, templates.invitation(contact, dict(data, **link)))


def tell_deactivated(uow, mailer, event, data):
    send(uow, mailer, event, templates.deactivated(_contact(uow, data["user_id"]), data))


def _contact(uow, user_id):
    contact = uow.session.get(Contact, user_id)
    if contact is None:
        raise ContactUnknown(f"no contact yet for user {user_id}")
    return contact


def send(uow, mailer, event, mail):
    """Record the delivery, then send: inside the transaction, so that if sending
    fails the delivery row and the inbox mark roll back and the event is retried."""
    uow.session.add(Delivery(event_id=event["event_id"], event_type=event["type"],
                             channel="email", recipient=mail.to, subject=mail.subject,
                             message_id=message_id_for(event)))
    uow.session.flush()
    mailer.send(mail, message_id_for(event))


def list_deliveries(session, limit, offset):
    return session.execute(
        select(Delivery).order_by(Delivery.sent_at.desc(), Delivery.id).limit(limit).offset(offset)
    ).scalars().all()
