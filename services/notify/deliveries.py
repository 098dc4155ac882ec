"""Use cases of notify: keep contacts, send what events ask to be told."""
from dataclasses import replace

from sqlalchemy import and_, any_, bindparam, select
from sqlalchemy.dialects.postgresql import insert

from datetime import datetime

from common.db import new_id
from services.notify import calendar_invite, preferences, templates
from services.notify.message_categories import booking_category
from services.notify.models import Contact, Delivery, Preference


class ContactUnknown(Exception):
    """The person's contact has not arrived from identity yet: retry later."""


def remember_contact(uow, data):
    values = {"email": data["email"], "full_name": data["full_name"],
              "organisation_id": data["organisation_id"], "roles": data.get("roles") or [],
              "relay_ids": data["relay_ids"], "locale": data["locale"]}
    uow.session.execute(
        insert(Contact).values(user_id=data["user_id"], **values)
        .on_conflict_do_update(index_elements=[Contact.user_id], set_=values))


def message_id_for(event, index=0):
    """Derived from the event (and the recipient's rank when one event mails
    several people), so a re-sent mail has the same Message-ID."""
    suffix = f".{index}" if index else ""
    return f"<{event['event_id']}{suffix}@relais-des-possibles>"


# What each booking event tells the member, in words (templates.py).
BOOKING_MAILS = {
    "booking.confirmed": templates.booking_confirmed,
    "booking.cancelled": templates.booking_cancelled,
    "booking.no_show": templates.booking_no_show,
}


# A confirmation invites to the event, a cancellation withdraws it (iTIP).
CALENDAR_METHODS = {"booking.confirmed": "REQUEST", "booking.cancelled": "CANCEL"}


def tell_member(uow, mailer, links, event, booking):
    """Mail the member about a booking event (its data dumped to JSON values),
    unless it is a receipt they turned off; in their language, with the
    calendar invitation of a confirmation or a cancellation."""
    category = booking_category(event["type"], booking)
    contact = _contact(uow, booking["member_id"], category)
    if not preferences.wanted(category, contact.enabled):
        return
    method = CALENDAR_METHODS.get(event["type"])
    calendar = None
    if method:
        invite = calendar_invite.from_booking(booking, method, mailer.envelope_sender(),
                                              contact.email, contact.full_name)
        calendar = templates.Attachment(
            "invite.ics", calendar_invite.content_type(method),
            calendar_invite.render(invite, datetime.fromisoformat(event["occurred_at"])))
    mail = BOOKING_MAILS[event["type"]](
        contact, booking, calendar=calendar,
        **links.for_mail(contact.user_id, category, contact.locale))
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


def tell_sign_up(uow, mailer, event, data, issue_link):
    """A resident signed up: mail the address its verification link (asked of
    identity now, as for invitations: the secret is in that reply and the mail
    only), or, if the address already has an account, a mail saying so. Only
    the address's owner reads which; the sign-up's answer was the same. A
    sign-up no longer pending (used, expired) is not mailed."""
    if data["account_exists"]:
        send(uow, mailer, event, templates.sign_up_account_exists(data))
        return
    link = issue_link(data["sign_up_id"])
    if link is not None:
        send(uow, mailer, event, templates.sign_up(data, link))


def tell_deactivated(uow, mailer, event, data):
    send(uow, mailer, event, templates.deactivated(_contact(uow, data["user_id"]), data))


# What each billing event tells a company's billing contact (templates.py).
BILLING_MAILS = {
    "billing.invoice_overdue": templates.invoice_overdue,
    "billing.payment_recorded": templates.payment_recorded,
}

# A final document is mailed once its Factur-X PDF is rendered
# (``billing.document_rendered``), with the PDF attached: by its kind.
DOCUMENT_MAILS = {
    "invoice": templates.invoice_finalized,
    "credit_note": templates.credit_note_issued,
}


def tell_billing_contact(uow, mailer, event, data, template=None, attachments=()):
    """Mail the billing address the document was issued to (the buyer's
    billing e-mail, as identity gave it to billing); none: nothing to send."""
    if data.get("buyer_email"):
        mail = (template or BILLING_MAILS[event["type"]])(data["buyer_email"], data)
        send(uow, mailer, event, mail, attachments=attachments)


def tell_relay_managers(uow, mailer, event, data, attachments=()):
    """Mail a settlement to each relay manager of the operator (else to the
    operator's billing address)."""
    managers = uow.session.execute(
        select(Contact).where(Contact.organisation_id == data["organisation_id"],
                              "relay_manager" == any_(Contact.roles))
        .order_by(Contact.email)).scalars().all()
    recipients = [m.email for m in managers] or [e for e in [data.get("seller_email")] if e]
    for index, recipient in enumerate(recipients):
        send(uow, mailer, event, templates.settlement_issued(recipient, data),
             message_id_for(event, index), attachments)


def tell_document(uow, mailer, event, data, attachment):
    """A rendered final document, its PDF attached: a settlement to the
    operator's relay managers, an invoice or a credit note to the billing
    contact it was issued to."""
    if data["kind"] == "self_billed_invoice":
        tell_relay_managers(uow, mailer, event, data, (attachment,))
    else:
        tell_billing_contact(uow, mailer, event, data, DOCUMENT_MAILS[data["kind"]],
                             (attachment,))


_CONTACT_COLUMNS = (Contact.__table__.c.user_id, Contact.__table__.c.email,
                    Contact.__table__.c.full_name, Contact.__table__.c.locale)
_CONTACT = select(*_CONTACT_COLUMNS).where(Contact.__table__.c.user_id == bindparam("user_id"))
# With the person's choice for one category of mails (``enabled``, None if none).
_CONTACT_AND_CHOICE = select(*_CONTACT_COLUMNS, Preference.__table__.c.enabled).outerjoin(
    Preference.__table__, and_(Preference.__table__.c.user_id == Contact.__table__.c.user_id,
                               Preference.__table__.c.category == bindparam("category"))
).where(Contact.__table__.c.user_id == bindparam("user_id"))


def _contact(uow, user_id, category=None):
    """The person's name, address and language, and with a ``category`` their
    choice for it (``enabled``). A row read by a statement built once: Core,
    not the ORM, on this hot path."""
    if category is None:
        contact = uow.session.execute(_CONTACT, {"user_id": user_id}).first()
    else:
        contact = uow.session.execute(_CONTACT_AND_CHOICE,
                                      {"user_id": user_id, "category": category}).first()
    if contact is None:
        raise ContactUnknown(f"no contact yet for user {user_id}")
    return contact


def send(uow, mailer, event, mail, message_id=None, attachments=()):
    """Record the delivery, then send: inside the transaction, so that if sending
    fails the delivery row and the inbox mark roll back and the event is retried."""
    message_id = message_id or message_id_for(event)
    uow.session.execute(Delivery.__table__.insert().values(
        id=new_id(), event_id=event["event_id"], event_type=event["type"], channel="email",
        recipient=mail.to, subject=mail.subject, message_id=message_id))
    if attachments:
        mail = replace(mail, attachments=tuple(mail.attachments) + tuple(attachments))
    mailer.send(mail, message_id)


def list_deliveries(session, limit, offset):
    return session.execute(
        select(Delivery).order_by(Delivery.sent_at.desc(), Delivery.id).limit(limit).offset(offset)
    ).scalars().all()
