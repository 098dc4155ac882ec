"""Billing's entrypoints: rate cards over RPC; usage lines from booking events."""
from nameko.rpc import rpc

from common.caller import load_caller
from common.db import Database
from common.entrypoints import consumes, idempotent
from common.service import RelaisService
from common.validation import load
from contracts.rpc.billing import RateCardSchema, UsageLineQuerySchema, UsageLineSchema
from services.billing import usage
from services.billing.models import Base

rate_card_schema = RateCardSchema()
usage_line_schema = UsageLineSchema()


class BillingService(RelaisService):
    name = "billing"

    db = Database(Base)

    @rpc
    @idempotent(RateCardSchema)
    def set_rate_card(self, uow, caller, data, relay_id):
        return rate_card_schema.dump(usage.set_rate_card(uow, caller, relay_id, data))

    @rpc
    def list_rate_cards(self, relay_id):
        return rate_card_schema.dump(usage.list_rate_cards(self.db.session, relay_id), many=True)

    @rpc
    def list_usage_lines(self, caller, query=None):
        caller = load_caller(caller)
        query = load(UsageLineQuerySchema(), query or {})
        return usage_line_schema.dump(
            usage.list_usage_lines(self.db.session, caller, query), many=True)

    @consumes("booking.relay_created")
    def on_relay_created(self, uow, data, event):
        usage.remember_relay(uow, data)

    @consumes("booking.relay_updated")
    def on_relay_updated(self, uow, data, event):
        usage.remember_relay(uow, data)

    @consumes("booking.confirmed")
    def on_booking_confirmed(self, uow, booking, event):
        usage.record_usage(uow, booking)

    @consumes("booking.cancelled")
    def on_booking_cancelled(self, uow, cancellation, event):
        usage.record_cancellation(uow, cancellation)
