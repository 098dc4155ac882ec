"""Booking's entrypoints: the relay directory, availability, bookings and
series, manager and corporate views, calendar feeds; identity's events; the
timers that release no-shows and complete bookings.

Each entrypoint validates with the schema, calls a use case, and returns
JSON-native values.
"""
from datetime import datetime, timezone

import eventlet
from nameko.exceptions import RemoteError, UnknownService
from nameko.timer import timer

from common import config, errors
from common.caller import load_caller
from common.db import Database
from common.entrypoints import consumes, idempotent
from common.rpc import RpcProxy, rpc
from common.service import RelaisService
from common.validation import load
from contracts.rpc.booking import (
    BlockCreateSchema, BlockListQuerySchema, BlockSchema,
    AvailabilityQuerySchema, AvailableRelaySchema, BookingCreateSchema, BookingListQuerySchema,
    BookingSchema, CalendarFeedSchema, CancelSchema, CheckInSchema, ClosureQuerySchema,
    ClosureSchema, DayQuerySchema, OrganisationUsageQuerySchema, OrganisationUsageSchema,
    RelayCreateSchema, RelayDaySchema, RelayListQuerySchema, RelaySchema, RelayUpdateSchema,
    RelayWeekSchema, SeriesCancelSchema, SeriesCancelledSchema, SeriesCreateSchema, SeriesSchema,
    SpaceSchema, SpaceSessionsSchema, WeekQuerySchema, NetworkHealthSchema, UnmetDemandQuerySchema,
    UnmetDemandSchema,
    ImpactAuditQuerySchema, ImpactQuerySchema, ImpactReportSchema, WhoBenefitsSchema,
    ProgrammeUsageQuerySchema, ProgrammeUsageSchema,
)
from services.booking import (
    availability, blocks, bookings, calendar_feed, demand, directory, impact, impact_report,
    network_health, open_data, projections, series, timers, views, who_benefits,
)
from services.booking.metrics import BookingMetrics
from services.booking.models import Base

relay_schema = RelaySchema()
space_schema = SpaceSchema()
booking_schema = BookingSchema()
closure_schema = ClosureSchema()
series_schema = SeriesSchema()
# Made once: a search's 5-20 relays and their spaces made a new schema and
# its nested ones every time (4 % of the search's CPU under load).
available_relay_schema = AvailableRelaySchema()
TIMER_SECONDS = float(config.env("BOOKING_TIMER_SECONDS", "15"))
EMISSION_FACTORS = impact.load_factors()
# Shorter than the gateway's RPC timeout (5 s), so that the member gets booking's
# precise 503 rather than the gateway's 504.
QUOTE_TIMEOUT_SECONDS = float(config.env("BOOKING_QUOTE_TIMEOUT_SECONDS", "3"))
IDENTITY_TIMEOUT_SECONDS = float(config.env("BOOKING_IDENTITY_TIMEOUT_SECONDS", "3"))


def utcnow():
    return datetime.now(timezone.utc)


class BookingService(RelaisService):
    name = "booking"

    db = Database(Base)
    business_metrics = BookingMetrics()
    billing = RpcProxy("billing")
    identity = RpcProxy("identity")  # the owner of members' homes, asked about one not yet heard of

    # -- directory ----------------------------------------------------------------

    @rpc
    @idempotent(RelayCreateSchema)
    def create_relay(self, uow, caller, data):
        return relay_schema.dump(directory.create_relay(uow, caller, data))

    @rpc
    def update_relay(self, caller, relay_id, payload):
        caller = load_caller(caller)
        data = load(RelayUpdateSchema(), payload)
        with self.db.unit_of_work() as uow:
            return relay_schema.dump(directory.update_relay(uow, caller, relay_id, data))

    @rpc(callers=("gateway", "billing"))
    def get_relay(self, relay_id):
        return relay_schema.dump(directory.get_relay(self.db.session, relay_id, utcnow()))

    @rpc
    def list_relays(self, query=None):
        query = load(RelayListQuerySchema(), query or {})
        return relay_schema.dump(directory.list_relays(self.db.session, query), many=True)

    @rpc
    @idempotent(SpaceSchema)
    def create_space(self, uow, caller, data, relay_id):
        return space_schema.dump(directory.create_space(uow, caller, relay_id, data))

    @rpc
    @idempotent(BlockCreateSchema)
    def create_block(self, uow, caller, data, relay_id):
        return BlockSchema().dump(blocks.create_block(uow, caller, relay_id, data, utcnow()))

    @rpc
    def list_blocks(self, caller, query=None):
        caller = load_caller(caller)
        query = load(BlockListQuerySchema(), query or {})
        return BlockSchema().dump(blocks.list_blocks(self.db.session, caller, query), many=True)

    @rpc
    def cancel_block(self, caller, block_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return BlockSchema().dump(blocks.cancel_block(uow, caller, block_id, utcnow()))

    @rpc
    def set_space_sessions(self, caller, space_id, payload):
        caller = load_caller(caller)
        data = load(SpaceSessionsSchema(), payload)
        with self.db.unit_of_work() as uow:
            return space_schema.dump(directory.set_space_sessions(uow, caller, space_id, data))

    @rpc
    @idempotent(ClosureSchema)
    def add_closure(self, uow, caller, data, relay_id):
        now = utcnow()

        def cancel(booking, reason):
            bookings.cancel_booking(uow, booking, "relay_manager", reason, now)
        return closure_schema.dump(directory.add_closure(uow, caller, relay_id, data, now, cancel))

    @rpc
    def list_closures(self, relay_id, query=None):
        query = load(ClosureQuerySchema(), query or {})
        return closure_schema.dump(
            directory.list_closures(self.db.session, relay_id, query, utcnow()), many=True)

    @rpc
    def delete_closure(self, caller, relay_id, closure_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return directory.delete_closure(uow, caller, relay_id, closure_id)

    @rpc
    def search_availability(self, query=None):
        query = load(AvailabilityQuerySchema(), query or {})
        now = utcnow()
        found = availability.search(self.db.session, query, now)
        if not found:
            with self.db.unit_of_work() as uow:
                demand.record_search(uow.session, query, now)
        return available_relay_schema.dump(found, many=True)

    # -- bookings -------------------------------------------------------------------

    @rpc
    def book(self, caller, payload, idempotency_key=None):
        """Counts each outcome, a refusal by its rule, in the business metrics."""
        try:
            booking = self.book_once(caller, payload, idempotency_key)
        except errors.RelaisError as refusal:
            self.business_metrics.bookings.labels(refusal.code).inc()
            if refusal.code in demand.NO_SPACE_CODES:  # the request was valid: unmet demand
                with self.db.unit_of_work() as uow:
                    demand.record_refused_booking(
                        uow.session, load(BookingCreateSchema(), payload), utcnow())
            raise
        self.business_metrics.bookings.labels("confirmed").inc()
        return booking

    @idempotent(BookingCreateSchema, operation="book",
                lock=bookings.booker_lock)
    def book_once(self, uow, caller, data):
        return booking_schema.dump(bookings.book(uow, caller, data, utcnow(), quote=self.quote,
                                                 ask_home=self.home_from_identity))

    def quote(self, request):
        """billing's price of a booking (only asked under a monthly budget);
        billing not answering refuses the booking (503) rather than let it
        pass the budget unchecked."""
        try:
            with eventlet.Timeout(QUOTE_TIMEOUT_SECONDS):
                return self.billing.quote(payload=request)
        except (eventlet.Timeout, UnknownService):
            raise errors.Unavailable("Billing did not give this booking's price in time, and "
                                     "your organisation's monthly budget needs it: try again "
                                     "shortly.", code="budget-unavailable") from None

    def home_from_identity(self, caller):
        """identity's policy home of a member booking has not heard of yet (the
        company saved it a moment ago: its identity.profile_changed is on the
        way), as (latitude, longitude); None if it has none or cannot say in
        time (the booking is then refused as policy-home-unknown, as before)."""
        try:
            with eventlet.Timeout(IDENTITY_TIMEOUT_SECONDS):
                profile = self.identity.get_profile(caller=caller.context(),
                                                    user_id=caller.user_id)
        except (eventlet.Timeout, UnknownService, RemoteError):
            return None
        if profile.get("policy_home_latitude") is None:
            return None
        return profile["policy_home_latitude"], profile["policy_home_longitude"]

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

    @rpc
    def cancel_booking(self, caller, booking_id, payload=None):
        caller = load_caller(caller)
        data = load(CancelSchema(), payload or {})
        with self.db.unit_of_work() as uow:
            return booking_schema.dump(
                bookings.cancel(uow, caller, booking_id, data["reason"], utcnow()))

    @rpc
    def check_in(self, caller, booking_id, payload=None):
        caller = load_caller(caller)
        data = load(CheckInSchema(), payload or {})
        with self.db.unit_of_work() as uow:
            try:
                return booking_schema.dump(
                    bookings.check_in(uow, caller, booking_id, data["code"], utcnow()))
            except bookings.CountedRefusal as counted:
                refusal = counted.error  # the attempt is committed, then refused
        raise refusal

    @rpc
    @idempotent(SeriesCreateSchema,
                lock=bookings.booker_lock)
    def book_series(self, uow, caller, data, payload):
        return series_schema.dump(series.book_series(uow, caller, data, payload, utcnow(),
                                                         quote=self.quote,
                                                         ask_home=self.home_from_identity))

    @rpc
    def get_series(self, caller, series_id):
        caller = load_caller(caller)
        return series_schema.dump(series.get_series(self.db.session, caller, series_id))

    @rpc
    def cancel_series(self, caller, series_id, payload=None):
        caller = load_caller(caller)
        data = load(SeriesCancelSchema(), payload or {})
        with self.db.unit_of_work() as uow:
            return SeriesCancelledSchema().dump(
                series.cancel_series(uow, caller, series_id, data, utcnow()))

    # -- views ----------------------------------------------------------------------

    @rpc
    def relay_day(self, caller, relay_id, query=None):
        caller = load_caller(caller)
        query = load(DayQuerySchema(), query or {})
        return RelayDaySchema().dump(views.relay_day(
            self.db.session, caller, relay_id, query.get("date"), utcnow()))

    @rpc
    def relay_week(self, caller, relay_id, query=None):
        caller = load_caller(caller)
        query = load(WeekQuerySchema(), query or {})
        return RelayWeekSchema().dump(views.relay_week(
            self.db.session, caller, relay_id, query.get("start"), utcnow()))

    @rpc
    def network_health(self, caller):
        caller = load_caller(caller)
        return NetworkHealthSchema().dump(
            network_health.report(self.db.session, caller, utcnow()))

    @rpc
    def unmet_demand(self, caller, query=None):
        caller = load_caller(caller)
        query = load(UnmetDemandQuerySchema(), query or {})
        return UnmetDemandSchema().dump(demand.report(
            self.db.session, caller, query["from_month"], query["to_month"]))

    @rpc
    def impact_report(self, caller, query=None):
        caller = load_caller(caller)
        query = load(ImpactQuerySchema(), query or {})
        return ImpactReportSchema().dump(impact_report.report(
            self.db.session, caller, query["month"], query["by"], EMISSION_FACTORS))

    @rpc
    def impact_report_csv(self, caller, query=None):
        caller = load_caller(caller)
        query = load(ImpactQuerySchema(), query or {})
        return impact_report.report_csv(
            self.db.session, caller, query["month"], query["by"], EMISSION_FACTORS)

    @rpc
    def impact_audit_csv(self, caller, query=None):
        caller = load_caller(caller)
        query = load(ImpactAuditQuerySchema(), query or {})
        return impact_report.audit_csv(self.db.session, caller, query["month"], EMISSION_FACTORS)

    @rpc
    def who_benefits(self, caller, query=None):
        caller = load_caller(caller)
        query = load(ImpactAuditQuerySchema(), query or {})
        return WhoBenefitsSchema().dump(
            who_benefits.report(self.db.session, caller, query["month"]))

    @rpc
    def who_benefits_csv(self, caller, query=None):
        caller = load_caller(caller)
        query = load(ImpactAuditQuerySchema(), query or {})
        return who_benefits.report_csv(self.db.session, caller, query["month"])

    @rpc
    def open_data_relay_use(self, query=None):
        """Public: per relay, people served in a month, no one in it."""
        query = load(ImpactAuditQuerySchema(), query or {})
        return open_data.relay_use_csv(self.db.session, query["month"])

    @rpc
    def organisation_usage(self, caller, query=None):
        caller = load_caller(caller)
        query = load(OrganisationUsageQuerySchema(), query or {})
        policy = bookings.policy_of(self.db.session, caller.organisation_id)
        return OrganisationUsageSchema().dump(views.organisation_usage(
            self.db.session, caller, query.get("month"), policy, utcnow()))

    @rpc
    def programme_usage(self, caller, query=None):
        caller = load_caller(caller)
        query = load(ProgrammeUsageQuerySchema(), query or {})
        return ProgrammeUsageSchema().dump(views.programme_usage(
            self.db.session, caller, query["month"], query.get("programme_id")))

    # -- calendar feeds ---------------------------------------------------------------

    @rpc
    def create_calendar_feed(self, caller):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return CalendarFeedSchema().dump(calendar_feed.create_feed(uow, caller, utcnow()))

    @rpc
    def revoke_calendar_feed(self, caller):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return calendar_feed.revoke_feed(uow, caller)

    @rpc
    def calendar_feed(self, token):
        """The feed as text/calendar (the gateway serves it as is)."""
        return calendar_feed.render_feed(self.db.session, token, utcnow())

    # -- time -----------------------------------------------------------------------

    @timer(interval=TIMER_SECONDS)
    def run_timers(self):
        """Release no-shows, then complete finished bookings, a batch at a time."""
        now = utcnow()
        for step in (timers.release_no_shows, timers.complete_finished):
            while True:
                with self.db.unit_of_work() as uow:
                    if step(uow, now) < timers.BATCH_SIZE:
                        break

    # -- identity's events ----------------------------------------------------------

    @consumes("identity.organisation_created")
    def on_organisation_created(self, uow, data, event):
        projections.remember_organisation_kind(uow, data)

    @consumes("identity.user_provisioned")
    def on_user_provisioned(self, uow, data, event):
        projections.remember_user(uow, data, event["occurred_at"])

    @consumes("identity.user_updated")
    def on_user_updated(self, uow, data, event):
        projections.remember_user(uow, data, event["occurred_at"])

    @consumes("identity.profile_changed")
    def on_profile_changed(self, uow, data, event):
        projections.remember_profile(uow, data, event["occurred_at"])

    @consumes("identity.policy_changed")
    def on_policy_changed(self, uow, data, event):
        projections.remember_policy(uow, data, event["occurred_at"])

    @consumes("identity.member_policies_changed")
    def on_member_policies_changed(self, uow, data, event):
        projections.remember_member_policies(uow, data, event["occurred_at"])

    @consumes("identity.member_programmes_changed")
    def on_member_programmes_changed(self, uow, data, event):
        projections.remember_member_programmes(uow, data, event["occurred_at"])

    @consumes("identity.user_deactivated")
    def on_user_deactivated(self, uow, data, event):
        projections.deactivate_member(uow, data, utcnow())

    @consumes("identity.user_reactivated")
    def on_user_reactivated(self, uow, data, event):
        projections.reactivate_member(uow, data, event["occurred_at"])
