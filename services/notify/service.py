"""Notify's entrypoints: it listens to the other services and tells people."""
import eventlet
from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy, rpc

from common.caller import load_caller
from common.consumer import consume_event
from common.db import Database
from common.service import RelaisService
from common.validation import load
from services.booking.schemas import (
    BookingCancelledSchema, BookingConfirmedSchema, BookingNoShowSchema,
)
from services.identity.schemas import (
    InvitationIssuedSchema, UserDeactivatedSchema, UserProvisionedSchema,
)
from services.notify import deliveries
from services.notify.mailer import MailerProvider
from services.notify.models import Base
from services.notify.schemas import DeliveryQuerySchema, DeliverySchema


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

    @consume_event("identity", "identity.user_provisioned")
    def on_user_provisioned(self, event):
        data = UserProvisionedSchema().load(event["data"])
        with self.db.unit_of_work() as uow:
            if uow.mark_handled(event, "notify.on_user_provisioned"):
                deliveries.remember_contact(uow, data)
                deliveries.tell_invitation(uow, self.mailer, event, data, self.invitation_link)

    @consume_event("identity", "identity.invitation_issued")
    def on_invitation_issued(self, event):
        data = InvitationIssuedSchema().load(event["data"])
        with self.db.unit_of_work() as uow:
            if uow.mark_handled(event, "notify.on_invitation_issued"):
                deliveries.tell_invitation(uow, self.mailer, event, data, self.invitation_link)

    @consume_event("identity", "identity.user_updated")
    def on_user_updated(self, event):
        data = UserProvisionedSchema().load(event["data"])
        with self.db.unit_of_work() as uow:
            if uow.mark_handled(event, "notify.on_user_updated"):
                deliveries.remember_contact(uow, data)

    @consume_event("identity", "identity.user_deactivated")
    def on_user_deactivated(self, event):
        data = UserDeactivatedSchema().load(event["data"])
        with self.db.unit_of_work() as uow:
            if uow.mark_handled(event, "notify.on_user_deactivated"):
                deliveries.tell_deactivated(uow, self.mailer, event, data)

    @consume_event("booking", "booking.confirmed")
    def on_booking_confirmed(self, event):
        self.tell_member(event, BookingConfirmedSchema(), "notify.on_booking_confirmed")

    @consume_event("booking", "booking.cancelled")
    def on_booking_cancelled(self, event):
        self.tell_member(event, BookingCancelledSchema(), "notify.on_booking_cancelled")

    @consume_event("booking", "booking.no_show")
    def on_booking_no_show(self, event):
        self.tell_member(event, BookingNoShowSchema(), "notify.on_booking_no_show")

    def tell_member(self, event, schema, consumer):
        booking = schema.dump(schema.load(event["data"]))
        with self.db.unit_of_work() as uow:
            if uow.mark_handled(event, consumer):
                deliveries.tell_member(uow, self.mailer, event, booking)

    @rpc
    def list_deliveries(self, caller, query=None):
        load_caller(caller).require("network_admin", "network_ops")
        query = load(DeliveryQuerySchema(), query or {})
        return DeliverySchema().dump(
            deliveries.list_deliveries(self.db.session, query["limit"], query["offset"]),
            many=True)
