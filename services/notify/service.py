"""Notify's entrypoints: it listens to the other services and tells people."""
import eventlet
from nameko.exceptions import RemoteError
from nameko.extensions import DependencyProvider
from nameko.dependency_providers import Config
from nameko.timer import timer

from common.caller import load_caller
from common.db import Database
from common.entrypoints import consumes
from common.rpc import RpcProxy, rpc
from common.service import RelaisService
from common.validation import load
from contracts import events
from contracts.rpc.billing import DocumentFileSchema
from common.schemas import PageQuerySchema
from contracts.rpc.notify import (
    DeliveryQuerySchema, DeliverySchema, NotificationPreferenceSchema,
    NotificationPreferencesUpdateSchema, WebhookDeliveryQuerySchema, WebhookDeliverySchema,
    WebhookEndpointCreateSchema, WebhookEndpointSchema, WebhookEndpointUpdateSchema,
    WebhookReplayedSchema, WebhookReplaySchema, WebhookRotateSchema,
)
from common import config as env_config
from services.notify import (
    daily_mails, deliveries, message_categories, preferences, templates, webhooks,
)
from services.notify.mailer import MailerProvider
from services.notify.templates import Attachment
from services.notify.webhook_dispatcher import WebhookDispatcher
from services.notify.models import Base


class UnsubscribeLinksProvider(DependencyProvider):
    """The public URL and key of the one-click unsubscribe links (preferences.py)."""

    def setup(self):
        self.links = preferences.UnsubscribeLinks.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.links


class IdentityTimeout(Exception):
    """identity did not answer in time: the event is retried."""


class BillingTimeout(Exception):
    """billing did not send a document's PDF in time: the event is retried."""


# How often notify looks for webhook deliveries that are due.
WEBHOOK_TIMER_SECONDS = 0.2
# How often it looks for day-before mails that are due (daily_rules.py).
DAILY_MAILS_TIMER_SECONDS = 60


def daily_mails_enabled(config):
    """On unless RELAIS_DAILY_MAILS=0 (or DAILY_MAILS false in the container's
    config): the tests that do not drive them by an injected clock turn them off."""
    value = config.get("DAILY_MAILS")
    if value is None:
        value = env_config.env("DAILY_MAILS", "1")
    return str(value).lower() not in ("0", "false", "no", "off")


# Queues of consumers notify no longer has: nothing reads them, and they would
# only fill up. `python -m common.queues retire` deletes them (with their retry
# and dead-letter queues) on a broker that ran an earlier notify.
RETIRED_QUEUES = (
    # one consumer per effect of the booking events, before ``also`` (below)
    # did all of an event's effects in one: move what they hold into
    # on_booking_<type>'s queue first (services/notify/README.md)
    "evt-booking-booking.confirmed--notify.remember_booking_confirmed",
    "evt-booking-booking.confirmed--notify.webhooks_booking_confirmed",
    "evt-booking-booking.cancelled--notify.remember_booking_cancelled",
    "evt-booking-booking.cancelled--notify.webhooks_booking_cancelled",
    "evt-booking-booking.no_show--notify.webhooks_booking_no_show",
    # the mails of billing's documents before they carried their PDF
    # (on_document_rendered sends them now)
    "evt-billing-billing.invoice_finalized--notify.on_invoice_finalized",
    "evt-billing-billing.credit_note_issued--notify.on_credit_note_issued",
    "evt-billing-billing.settlement_issued--notify.on_settlement_issued",
)


class NotifyService(RelaisService):
    name = "notify"
    config = Config()

    db = Database(Base)
    mailer = MailerProvider()
    links = UnsubscribeLinksProvider()
    identity = RpcProxy("identity")
    billing = RpcProxy("billing")
    webhook_dispatcher = WebhookDispatcher()

    # How long notify waits for identity to mint an invitation link; past it the
    # handler fails and the event is retried (common.consumer).
    IDENTITY_TIMEOUT_SECONDS = 10
    BILLING_TIMEOUT_SECONDS = 30

    def invitation_link(self, invitation_id):
        """The link of a pending invitation (minted now by identity), or None
        if it is not pending any more."""
        return self.mint_link(self.identity.issue_invitation_link, invitation_id=invitation_id)

    def sign_up_link(self, sign_up_id):
        """The verification link of a pending sign-up (minted now), or None."""
        return self.mint_link(self.identity.issue_sign_up_link, sign_up_id=sign_up_id)

    def mint_link(self, issue, **kwargs):
        """A link identity mints at send time; None if what it opens is not
        pending any more; a timeout fails the handler, so the event is retried."""
        try:
            with eventlet.Timeout(self.IDENTITY_TIMEOUT_SECONDS,
                                  IdentityTimeout("identity did not mint the link in time")):
                return issue(**kwargs)
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

    @consumes("identity.sign_up_requested")
    def on_sign_up_requested(self, uow, data, event):
        deliveries.tell_sign_up(uow, self.mailer, event, data, self.sign_up_link)

    @consumes("identity.user_updated")
    def on_user_updated(self, uow, data, event):
        deliveries.remember_contact(uow, data)

    @consumes("identity.user_deactivated")
    def on_user_deactivated(self, uow, data, event):
        deliveries.tell_deactivated(uow, self.mailer, event, data)

    # -- bookings, the busiest events: one consumer per type does all notify
    # does with one (``also``: a queue, a worker, a transaction and an ack per
    # event instead of three), each effect under its own inbox mark; the
    # database's effects first, the mail last. One failing does not hold the
    # others back (common.entrypoints): a member's contact late holds back
    # neither the day-before mails' record nor the webhooks.

    def remember_booking_confirmed(self, uow, booking, event):
        """Kept for the day-before mails."""
        self.remember_booking(uow, booking, event)

    def remember_booking_cancelled(self, uow, booking, event):
        self.remember_booking(uow, booking, event)

    def remember_booking(self, uow, booking, event):
        """Written by the statement that reads, for the steps that follow in
        the same transaction, the webhook endpoints and the member's contact
        (deliveries.read_for_booking_event): one round trip for three."""
        booking = events.dump(event["type"], booking)
        uow.read_ahead["endpoints"] = deliveries.read_for_booking_event(
            uow, event["type"], booking, write=daily_mails.remembering(event["type"], booking))

    def webhooks_booking_confirmed(self, uow, data, event):
        self.offer_booking_to_webhooks(uow, data, event)

    def webhooks_booking_cancelled(self, uow, data, event):
        self.offer_booking_to_webhooks(uow, data, event)

    def webhooks_booking_no_show(self, uow, data, event):
        self.offer_booking_to_webhooks(uow, data, event)

    def offer_booking_to_webhooks(self, uow, booking, event):
        """The endpoints as the day-before record's step read them, else read
        now with the member's contact for the mail that follows in the same
        transaction (one statement, not two)."""
        endpoints = uow.read_ahead.pop("endpoints", None)
        if endpoints is None:
            endpoints = deliveries.read_for_booking_event(uow, event["type"], booking)
        self.offer_to_webhooks(uow, booking, event, endpoints)

    @consumes("booking.confirmed", also=(remember_booking_confirmed, webhooks_booking_confirmed))
    def on_booking_confirmed(self, uow, booking, event):
        self.tell_member(uow, booking, event)

    @consumes("booking.cancelled", also=(remember_booking_cancelled, webhooks_booking_cancelled))
    def on_booking_cancelled(self, uow, booking, event):
        self.tell_member(uow, booking, event)

    @timer(interval=DAILY_MAILS_TIMER_SECONDS)
    def send_daily_mails(self):
        """Reminders the evening before and the managers' digest, each once
        (daily_mails.py), in each relay's time zone."""
        if daily_mails_enabled(self.config):
            daily_mails.send_due(self.db.session, self.mailer, self.links, webhooks.utcnow())

    @consumes("booking.no_show", also=(webhooks_booking_no_show,))
    def on_booking_no_show(self, uow, booking, event):
        self.tell_member(uow, booking, event)

    def tell_member(self, uow, booking, event):
        """The mail speaks of the booking in JSON values (ISO instants)."""
        deliveries.tell_member(uow, self.mailer, self.links, event,
                               events.dump(event["type"], booking))

    @consumes("billing.invoice_overdue")
    def on_invoice_overdue(self, uow, data, event):
        self.tell_billing_contact(uow, data, event)

    @consumes("billing.payment_recorded")
    def on_payment_recorded(self, uow, data, event):
        self.tell_billing_contact(uow, data, event)

    @consumes("billing.document_rendered")
    def on_document_rendered(self, uow, data, event):
        """An invoice, credit note or settlement is mailed once its PDF is
        rendered, with the PDF attached (fetched from billing)."""
        deliveries.tell_document(uow, self.mailer, event, events.dump(event["type"], data),
                                 self.document_pdf(data["document_id"]))

    def document_pdf(self, document_id):
        with eventlet.Timeout(self.BILLING_TIMEOUT_SECONDS,
                              BillingTimeout("billing did not send the PDF in time")):
            stored = self.billing.document_file(document_id=document_id)
        stored = DocumentFileSchema().load(stored)
        return Attachment(stored["filename"], stored["media_type"], stored["pdf"])

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

    # -- preferences and one-click unsubscribe (no log-in: a signed token) --------

    @rpc
    def get_notification_preferences(self, caller, user_id):
        return _preference_schema.dump(preferences.get_preferences(
            self.db.session, load_caller(caller), user_id), many=True)

    @rpc
    def set_notification_preferences(self, caller, user_id, payload):
        caller = load_caller(caller)
        changes = load(NotificationPreferencesUpdateSchema(), payload)
        with self.db.unit_of_work() as uow:
            return _preference_schema.dump(preferences.set_preferences(
                uow, caller, user_id, changes), many=True)

    @rpc
    def unsubscribe_page(self, token):
        """GET of the link: a page that asks (mail scanners follow links)."""
        locale, category = preferences.unsubscribe_target(self.db.session, self.links, token)
        return _unsubscribe_page(locale, category, done=False)

    @rpc
    def unsubscribe(self, token):
        """POST of the link: RFC 8058 one-click, or the page's button."""
        with self.db.unit_of_work() as uow:
            locale, category = preferences.unsubscribe(uow, self.links, token)
        return _unsubscribe_page(locale, category, done=True)

    # -- webhooks: every event of the published language is offered to the
    # endpoints that want it and may see it (webhook_rules.SCOPE_RULES). One
    # consumer per type, apart from the mails, so a mail waiting for a contact
    # or a link does not hold a webhook back; the booking events' are effects
    # of their one consumer, above. A unit test fails if a type has none.

    @consumes("identity.organisation_created")
    def webhooks_identity_organisation_created(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("identity.user_provisioned")
    def webhooks_identity_user_provisioned(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("identity.user_updated")
    def webhooks_identity_user_updated(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("identity.user_deactivated")
    def webhooks_identity_user_deactivated(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("identity.user_reactivated")
    def webhooks_identity_user_reactivated(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("identity.invitation_issued")
    def webhooks_identity_invitation_issued(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("identity.policy_changed")
    def webhooks_identity_policy_changed(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("identity.profile_changed")
    def webhooks_identity_profile_changed(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("identity.member_policies_changed")
    def webhooks_identity_member_policies_changed(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("identity.sign_up_requested")
    def webhooks_identity_sign_up_requested(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("identity.member_programmes_changed")
    def webhooks_identity_member_programmes_changed(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("booking.relay_created")
    def webhooks_booking_relay_created(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("booking.relay_updated")
    def webhooks_booking_relay_updated(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("booking.space_created")
    def webhooks_booking_space_created(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("booking.block_created")
    def webhooks_booking_block_created(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("booking.block_cancelled")
    def webhooks_booking_block_cancelled(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("booking.checked_in")
    def webhooks_booking_checked_in(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("booking.completed")
    def webhooks_booking_completed(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("billing.rate_card_set")
    def webhooks_billing_rate_card_set(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("billing.contract_set")
    def webhooks_billing_contract_set(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("billing.commission_set")
    def webhooks_billing_commission_set(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("billing.invoice_finalized")
    def webhooks_billing_invoice_finalized(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("billing.credit_note_issued")
    def webhooks_billing_credit_note_issued(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("billing.invoice_overdue")
    def webhooks_billing_invoice_overdue(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("billing.payment_recorded")
    def webhooks_billing_payment_recorded(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("billing.settlement_issued")
    def webhooks_billing_settlement_issued(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("billing.settlement_accepted")
    def webhooks_billing_settlement_accepted(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("billing.settlement_contested")
    def webhooks_billing_settlement_contested(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    @consumes("billing.document_rendered")
    def webhooks_billing_document_rendered(self, uow, data, event):
        self.offer_to_webhooks(uow, data, event)

    def offer_to_webhooks(self, uow, data, event, endpoints=None):
        """Delivery rows for the endpoints that want the event, sent as soon as
        they are committed: as many as the dispatcher has free slots are
        written claimed by it, the rest are claimed by its next pass."""
        dispatcher = self.webhook_dispatcher
        offered = webhooks.fan_out(uow, event, data, lease=dispatcher.free_slots(),
                                   settings=dispatcher.settings, endpoints=endpoints)
        if offered.leased:
            uow.after_commit(lambda: dispatcher.dispatch_soon(offered.leased))
        if offered.due:  # more than the pool had room for
            uow.after_commit(dispatcher.wake)

    @timer(interval=WEBHOOK_TIMER_SECONDS)
    def send_webhooks(self):
        """The safety net: deliveries are sent as soon as they are committed
        (``offer_to_webhooks``); this finds retries that fell due and any
        wake-up that was lost."""
        self.webhook_dispatcher.send_due()

    @rpc
    def create_webhook_endpoint(self, caller, payload):
        """Not idempotent by key: replaying the answer would mean storing the secret."""
        caller = load_caller(caller)
        data = load(WebhookEndpointCreateSchema(), payload)
        with self.db.unit_of_work() as uow:
            endpoint, secret = webhooks.create_endpoint(
                uow.session, caller, data, self.webhook_dispatcher.settings)
            return dict(_endpoint_schema.dump(endpoint), secret=secret)

    @rpc
    def list_webhook_endpoints(self, caller, query=None):
        caller = load_caller(caller)
        query = load(PageQuerySchema(), query or {})
        return _endpoint_schema.dump(webhooks.list_endpoints(
            self.db.session, caller, query["limit"], query["offset"]), many=True)

    @rpc
    def get_webhook_endpoint(self, caller, endpoint_id):
        return _endpoint_schema.dump(
            webhooks.get_endpoint(self.db.session, load_caller(caller), endpoint_id))

    @rpc
    def update_webhook_endpoint(self, caller, endpoint_id, payload):
        caller = load_caller(caller)
        data = load(WebhookEndpointUpdateSchema(), payload)
        with self.db.unit_of_work() as uow:
            return _endpoint_schema.dump(webhooks.update_endpoint(
                uow.session, caller, endpoint_id, data, self.webhook_dispatcher.settings))

    @rpc
    def delete_webhook_endpoint(self, caller, endpoint_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            webhooks.delete_endpoint(uow.session, caller, endpoint_id)

    @rpc
    def rotate_webhook_secret(self, caller, endpoint_id, payload=None):
        caller = load_caller(caller)
        data = load(WebhookRotateSchema(), payload or {})
        with self.db.unit_of_work() as uow:
            endpoint, secret = webhooks.rotate_secret(
                uow.session, caller, endpoint_id, data["grace_seconds"], webhooks.utcnow())
            return dict(_endpoint_schema.dump(endpoint), secret=secret)

    @rpc
    def list_webhook_deliveries(self, caller, endpoint_id, query=None):
        caller = load_caller(caller)
        query = load(WebhookDeliveryQuerySchema(), query or {})
        return _delivery_schema.dump(webhooks.list_deliveries(
            self.db.session, caller, endpoint_id, query), many=True)

    @rpc
    def replay_webhook_delivery(self, caller, endpoint_id, delivery_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            webhooks.replay_one(uow.session, caller, endpoint_id, delivery_id, webhooks.utcnow())
            return _delivery_schema.dump(webhooks.get_delivery(uow.session, delivery_id))

    @rpc
    def replay_webhook_deliveries(self, caller, endpoint_id, payload):
        caller = load_caller(caller)
        data = load(WebhookReplaySchema(), payload)
        with self.db.unit_of_work() as uow:
            count = webhooks.replay_range(uow.session, caller, endpoint_id, data["since"],
                                          data["until"], webhooks.utcnow())
        return WebhookReplayedSchema().dump({"replayed": count})

    @rpc
    def send_webhook_test(self, caller, endpoint_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return _delivery_schema.dump(webhooks.send_test_event(
                uow.session, caller, endpoint_id, webhooks.utcnow()))


def _unsubscribe_page(locale, category, done):
    label = message_categories.LABELS.get(locale, message_categories.LABELS["fr"])[category]
    return templates.page("unsubscribe", locale, label=label, done=done)


_preference_schema = NotificationPreferenceSchema()
_endpoint_schema = WebhookEndpointSchema()
_delivery_schema = WebhookDeliverySchema()
