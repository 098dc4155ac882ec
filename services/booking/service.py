"""Booking's entrypoints: the relay directory, spaces and bookings.

Each RPC validates its payload with the schema, calls a use case in
``directory`` or ``bookings``, and returns JSON-native values.
"""
from datetime import datetime, timezone

from nameko.rpc import rpc

from common import errors
from common.caller import load_caller
from common.db import Database
from common.service import RelaisService
from common.validation import load
from services.booking import bookings, directory
from services.booking.metrics import BookingMetrics
from services.booking.models import Base
from services.booking.schemas import (
    BookingCreateSchema, BookingListQuerySchema, BookingSchema, RelayCreateSchema,
    RelayListQuerySchema, RelaySchema, SpaceSchema,
)

relay_schema = RelaySchema()
space_schema = SpaceSchema()
booking_schema = BookingSchema()


class BookingService(RelaisService):
    name = "booking"

    db = Database(Base)
    business_metrics = BookingMetrics()

    @rpc
    def create_relay(self, caller, payload, idempotency_key=None):
        caller = load_caller(caller)
        data = load(RelayCreateSchema(), payload)
        with self.db.unit_of_work() as uow:
            return uow.idempotent(
                f"create_relay:{caller.user_id}", idempotency_key, payload,
                lambda: relay_schema.dump(directory.create_relay(uow, caller, data)))

    @rpc
    def get_relay(self, relay_id):
        return relay_schema.dump(directory.get_relay(self.db.session, relay_id))

    @rpc
    def list_relays(self, query=None):
        query = load(RelayListQuerySchema(), query or {})
        return relay_schema.dump(directory.list_relays(self.db.session, query), many=True)

    @rpc
    def create_space(self, caller, relay_id, payload, idempotency_key=None):
        caller = load_caller(caller)
        data = load(SpaceSchema(), payload)
        with self.db.unit_of_work() as uow:
            return uow.idempotent(
                f"create_space:{caller.user_id}:{relay_id}", idempotency_key, payload,
                lambda: space_schema.dump(directory.create_space(uow, caller, relay_id, data)))

    @rpc
    def book(self, caller, payload, idempotency_key=None):
        try:
            caller = load_caller(caller)
            data = load(BookingCreateSchema(), payload)
            now = datetime.now(timezone.utc)
            with self.db.unit_of_work() as uow:
                booking = uow.idempotent(
                    f"book:{caller.user_id}", idempotency_key, payload,
                    lambda: booking_schema.dump(bookings.book(uow, caller, data, now)))
        except errors.RelaisError as refusal:
            self.business_metrics.bookings.labels(refusal.code).inc()
            raise
        self.business_metrics.bookings.labels("confirmed").inc()
        return booking

    @rpc
    def get_booking(self, caller, booking_id):
        caller = load_caller(caller)
        return booking_schema.dump(bookings.get_booking(self.db.session, caller, booking_id))

    @rpc
    def list_bookings(self, caller, query=None):
        caller = load_caller(caller)
        query = load(BookingListQuerySchema(), query or {})
        return booking_schema.dump(bookings.list_bookings(self.db.session, caller, query),
                                   many=True)
