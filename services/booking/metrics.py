"""Booking's business metrics, in the container's own registry.

- ``relais_bookings_total{outcome}``: booking requests as this process answered
  them (``confirmed``, or the code of the rule that refused).
- ``relais_relay_bookings_total{relay, event}``: per relay, since the relay
  opened: ``confirmed`` (every booking made), ``cancelled`` (in time),
  ``late_cancelled``, ``no_show``, ``checked_in``, ``completed``; every relay
  reports every event, 0 until it happens.
- ``relais_relay_occupancy_ratio{relay, kind}``: today's (in the relay's time
  zone) desk half-days or room hours booked over those open; absent when the
  relay has no such space or is closed today.
- ``relais_relay_info{relay, name, department}``: 1, to name relays and group
  them by department on dashboards.

The relay figures are read from the database at scrape time (cached
``SCRAPE_CACHE_SECONDS``), not counted in memory: they survive restarts, need
no hook in every code path that cancels or releases a booking, and two
replicas report the same numbers, so queries take ``max by (relay, ...)``,
never ``sum``. One label value per relay keeps the series bounded by the
directory's size (thousands, not millions).
"""
import logging
from datetime import datetime, timezone

from nameko.extensions import DependencyProvider
from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.db import make_engine
from common.metrics import ScrapeCache, for_container
from services.booking import directory, occupancy, views
from services.booking.lifecycle import ACTIVE_STATUSES
from services.booking.models import Booking, Relay, Space

log = logging.getLogger(__name__)

SCRAPE_CACHE_SECONDS = 10
RELAY_EVENTS = {
    "confirmed": None,
    "cancelled": (Booking.status == "cancelled") & Booking.late_cancellation.is_not(True),
    "late_cancelled": (Booking.status == "cancelled") & Booking.late_cancellation.is_(True),
    "no_show": Booking.status == "no_show",
    "checked_in": Booking.checked_in_at.is_not(None),
    "completed": Booking.status == "completed",
}


class RelayActivityCollector:
    """The per-relay figures, read from booking's own database."""

    def __init__(self, engine, clock=lambda: datetime.now(timezone.utc)):
        self.engine = engine
        self.clock = clock
        self.cache = ScrapeCache(SCRAPE_CACHE_SECONDS, self.read)

    def describe(self):
        return []  # no query when the collector is registered

    def collect(self):
        try:
            relays, counts, ratios = self.cache.get()
        except Exception:  # a scrape must still show the rest of the service
            log.exception("could not read the relays' activity")
            failed = GaugeMetricFamily("relais_relay_metrics_failed",
                                       "1 when the relays' figures could not be read.")
            failed.add_metric([], 1)
            yield failed
            return
        info = GaugeMetricFamily("relais_relay_info", "A relay's name and department.",
                                 labels=("relay", "name", "department"))
        for relay in relays:
            info.add_metric([relay.id, relay.name, relay.department or ""], 1)
        yield info
        events = CounterMetricFamily(
            "relais_relay_bookings", "Bookings per relay since it opened, by what became of them.",
            labels=("relay", "event"))
        # Every relay and event, at 0 before it happens: increase() takes a
        # series' first sample as its baseline (a relay's first booking would
        # not count), and a relay never booked must count among those "without
        # a booking for 14 days", not be missing from them.
        for relay in relays:
            by_event = counts.get(relay.id, {})
            for event in RELAY_EVENTS:
                events.add_metric([relay.id, event], by_event.get(event, 0))
        yield events
        ratio = GaugeMetricFamily(
            "relais_relay_occupancy_ratio",
            "Today's occupancy per relay: desk half-days or room hours booked over open.",
            labels=("relay", "kind"))
        for relay_id, kind, value in ratios:
            ratio.add_metric([relay_id, kind], value)
        yield ratio

    def read(self):
        now = self.clock()
        with Session(self.engine) as session:
            relays = session.execute(
                select(Relay).options(*directory.RELAY_LOADS).order_by(Relay.id)).scalars().all()
            counts = {}
            columns = [func.count().filter(condition) if condition is not None else func.count()
                       for condition in RELAY_EVENTS.values()]
            for relay_id, *values in session.execute(
                    select(Booking.relay_id, *columns).group_by(Booking.relay_id)):
                counts[relay_id] = dict(zip(RELAY_EVENTS, values))
            return relays, counts, self.todays_occupancy(session, relays, now)

    def todays_occupancy(self, session, relays, now):
        if not relays:
            return []
        today = {relay.id: directory.local_today(relay, now) for relay in relays}
        first, last = min(today.values()), max(today.values())
        closures = directory.closures_between(session, list(today), first, last)
        day_bookings = {}
        for row in session.execute(
                select(Booking.relay_id, Booking.date, Booking.slot, Booking.starts_at,
                       Booking.ends_at, Booking.status, Space.kind)
                .join(Space, Space.id == Booking.space_id)
                .where(Booking.date.between(first, last),
                       Booking.status.in_(ACTIVE_STATUSES))):
            if row.date == today[row.relay_id]:
                day_bookings.setdefault(row.relay_id, []).append(occupancy.DayBooking(
                    row.kind, row.slot, views.minutes(row), row.status))
        ratios = []
        for relay in relays:
            desks = sum(1 for space in relay.spaces if space.kind == "desk")
            summary = views.day_occupancy(
                directory.calendar_of(relay, closures.get(relay.id, [])), desks,
                len(relay.spaces) - desks, today[relay.id], day_bookings.get(relay.id, []))
            for kind in ("desk", "room"):
                if summary[f"{kind}_occupancy"] is not None:
                    ratios.append((relay.id, kind, summary[f"{kind}_occupancy"]))
        return ratios


class BookingMetrics(DependencyProvider):
    def setup(self):
        registry = for_container(self.container).registry
        self.bookings = Counter(
            "relais_bookings_total",
            "Booking requests by outcome: confirmed, or the code of the rule that refused.",
            ("outcome",), registry=registry)
        # Its own small pool: a slow scrape never takes a worker's connection.
        self.engine = make_engine(self.container.config["DATABASE_URL"],
                                  pool_size=1, max_overflow=1)
        registry.register(RelayActivityCollector(self.engine))

    def stop(self):
        self.engine.dispose()

    def kill(self):
        self.engine.dispose()

    def get_dependency(self, worker_ctx):
        return self
