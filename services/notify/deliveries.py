"""Use cases of notify: keep contacts, send what events ask to be told.

A mail goes once, whatever replicas are killed, by a hand-over point just
before the SMTP DATA terminator (``send_once``, ``mailer.py``):

1. The message goes up to, not including, the terminator; then its delivery
   row (unique per event or key, channel and recipient) is committed as
   ``handed_over``, apart from the caller's transaction (one autocommit
   statement, ``INSERT ... ON CONFLICT DO NOTHING``).
2. The row was there already: an earlier worker handed the mail over (it was
   killed since, or it is another replica); the connection is dropped, which
   aborts the SMTP transaction: nothing is delivered, nothing sent again.
3. Else the terminator. 250: the row is ``sent``, in the caller's transaction
   (with the inbox mark). A refusal (4xx, 5xx): the row is deleted and the
   error raised, so the event is retried. No answer: it stays handed over.

Killed before the row's commit, nothing was delivered and the redelivered
event sends; killed after it, the redelivered event finds it and does not. The
window left is from PostgreSQL's commit of that row to the terminator's write:
the commit's answer coming back, then no I/O but that write (microseconds on
an idle process; longer if other green threads hold the CPU meanwhile). A
kill there loses the mail (the row says ``handed_over``). So does a failure
of the row's commit whose answer is lost (the connection cut as PostgreSQL
commits), and a refusal whose row cannot be deleted (PostgreSQL down just
then): rarer, and logged.
"""
import logging
from collections import namedtuple
from dataclasses import replace

from sqlalchemy import and_, any_, bindparam, literal, select, update
from sqlalchemy.dialects.postgresql import insert

from datetime import datetime

from common.db import execute_alone, new_id
from services.notify import calendar_invite, preferences, templates
from services.notify.mailer import HELD_BACK, SENT
from services.notify.message_categories import booking_category
from services.notify.models import Contact, Delivery, Preference, WebhookEndpoint

log = logging.getLogger(__name__)


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
    so the secret is in that reply and in the mail, nowhere else. Retried
    after the SMTP server refused, or after notify died before handing the
    mail over, the link is minted again and only the last one mailed works;
    once the mail was handed over, none is minted any more. An invitation that is
    not pending any more (revoked, used, expired, or the password was set
    meanwhile) is not mailed: ``issue_link`` returns None."""
    if not data.get("invitation_id"):
        return
    contact = _contact(uow, data["user_id"])
    if _handed_over(uow.session, event["event_id"], contact.email):
        return  # minted again, the link would void the one already mailed
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
    if _handed_over(uow.session, event["event_id"], data["email"]):
        return  # as for invitations: a new link would void the one mailed
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
    not the ORM, on this hot path; or read already with a booking event's
    webhook endpoints (``read_for_booking_event``)."""
    if category is None:
        contact = uow.session.execute(_CONTACT, {"user_id": user_id}).first()
    else:
        key = ("contact", str(user_id), category)
        if key in uow.read_ahead:
            contact = uow.read_ahead.pop(key)
        else:
            contact = uow.session.execute(_CONTACT_AND_CHOICE,
                                          {"user_id": user_id, "category": category}).first()
    if contact is None:
        raise ContactUnknown(f"no contact yet for user {user_id}")
    return contact


# A booking event's webhook endpoints and its member's contact, with their
# choice for the mail's category, by one statement: a row per enabled
# endpoint (the contact's columns on each), or one row without endpoint.
_endpoints = WebhookEndpoint.__table__
_ONE_ROW = select(literal(1).label("one")).subquery("one_row")
_MEMBER_AND_ENDPOINTS = select(
    *_CONTACT_COLUMNS, Preference.__table__.c.enabled,
    _endpoints.c.id.label("endpoint_id"), _endpoints.c.scope, _endpoints.c.organisation_id,
    _endpoints.c.relay_ids, _endpoints.c.event_types, _endpoints.c.url,
).select_from(
    _ONE_ROW.outerjoin(
        Contact.__table__.outerjoin(Preference.__table__, and_(
            Preference.__table__.c.user_id == Contact.__table__.c.user_id,
            Preference.__table__.c.category == bindparam("category"))),
        Contact.__table__.c.user_id == bindparam("user_id"))
    .outerjoin(_endpoints, _endpoints.c.enabled.is_(True)))

_Member = namedtuple("_Member", "user_id email full_name locale enabled")
_Endpoint = namedtuple("_Endpoint", "id scope organisation_id relay_ids event_types url")


# The read with a write before it (the day-before record): built once each.
_READS_AFTER = {}


def read_for_booking_event(uow, event_type, booking, write=None):
    """The enabled webhook endpoints (for ``webhooks.fan_out``), and the
    member's contact with their choice for the mail's category, kept in the
    unit of work for ``tell_member`` in the same transaction: one round trip
    where there were two. (A mail already sent, or a contact not there yet,
    costs nothing more: the mail's step is skipped, or fails as before.)
    ``write``: (statement, parameters) of a write the same statement makes
    first, in a CTE (``daily_mails.remembering``): one round trip less."""
    category = booking_category(event_type, booking)
    statement, params = _MEMBER_AND_ENDPOINTS, {
        "user_id": booking["member_id"], "category": category}
    if write is not None:
        written, written_params = write
        statement = _READS_AFTER.get(written)
        if statement is None:
            statement = _READS_AFTER.setdefault(
                written, _MEMBER_AND_ENDPOINTS.add_cte(written.cte("written")))
        params.update(written_params)
    rows = uow.session.execute(statement, params).all()
    first = rows[0]   # the one row everything is joined to
    uow.read_ahead[("contact", str(booking["member_id"]), category)] = _Member(
        first.user_id, first.email, first.full_name, first.locale, first.enabled
    ) if first.user_id is not None else None
    return [_Endpoint(row.endpoint_id, row.scope, row.organisation_id, row.relay_ids,
                      row.event_types, row.url) for row in rows if row.endpoint_id is not None]


def send(uow, mailer, event, mail, message_id=None, attachments=()):
    """Mail once for this event and recipient (the module's docstring); the
    row turns ``sent`` in the handler's transaction, with its inbox mark."""
    if attachments:
        mail = replace(mail, attachments=tuple(mail.attachments) + tuple(attachments))
    send_once(uow.session, mailer, event["event_id"], event["type"], mail,
              message_id or message_id_for(event))


_deliveries = Delivery.__table__
_HANDED_OVER = select(_deliveries.c.state).where(
    _deliveries.c.event_id == bindparam("event_id"), _deliveries.c.channel == "email",
    _deliveries.c.recipient == bindparam("recipient"))
_SENT = update(_deliveries).where(_deliveries.c.id == bindparam("b_id")).values(state="sent")
# Plain SQL for psycopg2: the two statements of a hand-over run on a bare
# pooled connection (``common.db.execute_alone``).
_HAND_OVER = (
    "INSERT INTO deliveries (id, event_id, event_type, channel, recipient, subject, "
    "message_id, state) VALUES (%(id)s, %(event_id)s, %(event_type)s, 'email', %(recipient)s, "
    "%(subject)s, %(message_id)s, 'handed_over') "
    "ON CONFLICT (event_id, channel, recipient) DO NOTHING RETURNING id")
_REFUSED = "DELETE FROM deliveries WHERE id = %(id)s AND state = 'handed_over'"


def send_once(session, mailer, key, kind, mail, message_id):
    """Mail ``mail`` once for ``key`` (an event id, or a day-before mail's key)
    and its recipient; True if it was handed over now, False if it had been.

    Whether it had been is asked at the last moment, by the hand-over's
    ``ON CONFLICT``, not by a query before: that would cost every mail a round
    trip (~0.2 ms of notify's CPU) to spare the rare redelivered one the
    writing of a message that is then dropped."""
    row = {"id": new_id(), "event_id": key, "event_type": kind, "recipient": mail.to,
           "subject": mail.subject, "message_id": message_id}
    outcome = mailer.send(mail, message_id, _Checkpoint(session.get_bind(), row))
    if outcome == SENT:
        session.execute(_SENT, {"b_id": row["id"]})
    elif outcome == HELD_BACK:
        log.info("%s was handed over before (a worker killed since, or another "
                 "replica): not sent again", message_id)
        return False
    return True


def _handed_over(session, key, recipient):
    return session.execute(_HANDED_OVER, {"event_id": key, "recipient": recipient}).first() \
        is not None


class _Checkpoint:
    """The delivery row committed apart from the caller's transaction, just
    before the DATA terminator (``mailer.py``'s hand-over)."""

    def __init__(self, engine, row):
        self.engine, self.row = engine, row

    def before_terminator(self):
        """True: the row is ours, send the terminator; False: another worker's."""
        return execute_alone(self.engine, _HAND_OVER, self.row) is not None

    def refused(self):
        """The server refused the mail: nothing was delivered, it may go again."""
        try:
            execute_alone(self.engine, _REFUSED, self.row)
        except Exception:  # noqa: BLE001 - the refusal is raised all the same
            log.exception("refused mail %s stays handed over: it will not be tried again",
                          self.row["message_id"])


def list_deliveries(session, limit, offset):
    return session.execute(
        select(Delivery).order_by(Delivery.sent_at.desc(), Delivery.id).limit(limit).offset(offset)
    ).scalars().all()
