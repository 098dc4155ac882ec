"""Billing's entrypoints: rate cards over RPC; usage lines from booking events."""
from nameko.rpc import rpc

from common.caller import load_caller
from common.consumer import consume_event
from common.db import Database
from common.service import RelaisService
from common.validation import load
from services.billing import usage
from services.billing.models import Base
from services.billing.schemas import RateCardSchema, UsageLineQuerySchema, UsageLineSchema
from services.booking.schemas import (
    BookingCancelledSchema, BookingConfirmedSchema, RelayCreatedSchema,
)

rate_card_schema = RateCardSchema()
usage_line_schema = UsageLineSchema()


class BillingService(RelaisService):
    name = "billing"

    db = Database(Base)

    @rpc
    def set_rate_card(self, caller, relay_id, payload, idempotency_key=None):
        caller = load_caller(caller)
        data = load(RateCardSchema(), payload)
        with self.db.unit_of_work() as uow:
            return uow.idempotent(
                f"set_rate_card:{caller.user_id}:{relay_id}", idempotency_key, payload,
                lambda: rate_card_schema.dump(usage.set_rate_card(uow, caller, relay_id, data)))

    @rpc
    def list_rate_cards(self, relay_id):
        return rate_card_schema.dump(usage.list_rate_cards(self.db.session, relay_id), many=True)

    @rpc
    def list_usage_lines(self, caller, query=None):
        caller = load_caller(caller)
        query = load(UsageLineQuerySchema(), query or {})
        return usage_line_schema.dump(
            usage.list_usage_lines(self.db.session, caller, query), many=True)

    @consume_event("booking", "booking.relay_created")
    def on_relay_created(self, event):
        data = RelayCreatedSchema().load(event["data"])
        with self.db.unit_of_work() as uow:
            if uow.mark_handled(event, "billing.on_relay_created"):
                usage.remember_relay(uow, data)

    @consume_event("booking", "booking.relay_updated")
    def on_relay_updated(self, event):
        data = RelayCreatedSchema().load(event["data"])
        with self.db.unit_of_work() as uow:
            if uow.mark_handled(event, "billing.on_relay_updated"):
                usage.remember_relay(uow, data)

    @consume_event("booking", "booking.confirmed")
    def on_booking_confirmed(self, event):
        booking = BookingConfirmedSchema().load(event["data"])
        with self.db.unit_of_work() as uow:
            if uow.mark_handled(event, "billing.on_booking_confirmed"):
                usage.record_usage(uow, booking)

    @consume_event("booking", "booking.cancelled")
    def on_booking_cancelled(self, event):
        cancellation = BookingCancelledSchema().load(event["data"])
        with self.db.unit_of_work() as uow:
            if uow.mark_handled(event, "billing.on_booking_cancelled"):
                usage.record_cancellation(uow, cancellation)
