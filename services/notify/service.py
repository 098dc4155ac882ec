"""Notify's entrypoints: it listens to the other services and tells people."""
import eventlet
from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy, rpc

from common.caller import load_caller
from common.db import Database
from common.entrypoints import consumes
from common.service import RelaisService
from common.validation import load
from contracts import events
from contracts.rpc.notify import DeliveryQuerySchema, DeliverySchema
from services.notify import deliveries
from services.notify.mailer import MailerProvider
from services.notify.models import Base


class IdentityTimeout(Exception):
    """identity did not answer in time: the event is retried."""


class NotifyService(RelaisService):
    name = "notify"

    db = Database(Base)
    mailer = MailerProvider()
    identity = RpcProxy("identity")

    # How long notify waits for identity to mint an invitation link; past it the
    # handler fails and the event is retried (common.consumer).
    IDENTITY_TIMEOUT_SECONDS = 10

    def invitation_link(self, invitation_id):
        """The link of a pending invitation (minted now by identity), or None
        if it is not pending any more."""
        try:
            with eventlet.Timeout(self.IDENTITY_TIMEOUT_SECONDS,
                                  IdentityTimeout("identity did not mint the link in time")):
                return self.identity.issue_invitation_link(invitation_id=invitation_id)
        except RemoteError as exc:
            if exc.exc_type in ("Conflict", "NotFound"):
                return None
            raise

    @consumes("identity.user_provisioned")
    def on_user_provisioned(self, uow, data, event):
        deliveries.remember_contact(uow, data)
        deliveries.tell_invitation(uow, self.mailer, event, data, self.invitation_link)

    @consumes("identity.invitation_issued")
    def on_invitation_issued(self, uow, data, event):
        deliveries.tell_invitation(uow, self.mailer, event, data, self.invitation_link)

    @consumes("identity.user_updated")
    def on_user_updated(self, uow, data, event):
        deliveries.remember_contact(uow, data)

    @consumes("identity.user_deactivated")
    def on_user_deactivated(self, uow, data, event):
        deliveries.tell_deactivated(uow, self.mailer, event, data)

    @consumes("booking.confirmed")
    def on_booking_confirmed(self, uow, booking, event):
        self.tell_member(uow, booking, event)

    @consumes("booking.cancelled")
    def on_booking_cancelled(self, uow, booking, event):
        self.tell_member(uow, booking, event)

    @consumes("booking.no_show")
    def on_booking_no_show(self, uow, booking, event):
        self.tell_member(uow, booking, event)

    def tell_member(self, uow, booking, event):
        """The mail speaks of the booking in JSON values (ISO instants)."""
        deliveries.tell_member(uow, self.mailer, event, events.dump(event["type"], booking))

    @consumes("billing.invoice_finalized")
    def on_invoice_finalized(self, uow, data, event):
        self.tell_billing_contact(uow, data, event)

    @consumes("billing.credit_note_issued")
    def on_credit_note_issued(self, uow, data, event):
        self.tell_billing_contact(uow, data, event)

    @consumes("billing.invoice_overdue")
    def on_invoice_overdue(self, uow, data, event):
        self.tell_billing_contact(uow, data, event)

    @consumes("billing.payment_recorded")
    def on_payment_recorded(self, uow, data, event):
        self.tell_billing_contact(uow, data, event)

    @consumes("billing.settlement_issued")
    def on_settlement_issued(self, uow, data, event):
        deliveries.tell_relay_managers(uow, self.mailer, event,
                                       events.dump(event["type"], data))

    def tell_billing_contact(self, uow, data, event):
        """The mail speaks of the document in JSON values (ISO dates)."""
        deliveries.tell_billing_contact(uow, self.mailer, event, events.dump(event["type"], data))

    @rpc
    def list_deliveries(self, caller, query=None):
        load_caller(caller).require("network_admin", "network_ops")
        query = load(DeliveryQuerySchema(), query or {})
        return DeliverySchema().dump(
            deliveries.list_deliveries(self.db.session, query["limit"], query["offset"]),
            many=True)
