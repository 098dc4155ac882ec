"""Prometheus metrics for a nameko service.

Each container gets its own ``CollectorRegistry``: two containers in one process
(tests, or a runner hosting several services) would otherwise re-register the
same series and fail with "Duplicated timeseries".
"""
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.orm import Session

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

class ServiceMetrics:
    def __init__(self, service_name):
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"service": service_name}

        def metric(kind, name, doc, labelnames=(), **kwargs):
            return kind(name, doc, labelnames=labelnames, registry=self.registry,
                        **kwargs)

        self.entrypoint_latency = metric(
            Histogram, "relais_entrypoint_latency_seconds",
            "Time spent in each entrypoint (RPC, event handler, HTTP).",
            ("service", "entrypoint"), buckets=LATENCY_BUCKETS)
        self.entrypoint_errors = metric(
            Counter, "relais_entrypoint_errors_total",
            "Entrypoint calls that raised.", ("service", "entrypoint", "error"))
        self.events_published = metric(
            Counter, "relais_events_published_total",
            "Events published from the outbox.", ("service", "event_type")
        )
        self.events_consumed = metric(
            Counter, "relais_events_consumed_total",
            "Events consumed, by outcome (handled, duplicate, retried, dead_lettered).",
            ("service", "event_type", "outcome"))
        self.outbox_backlog = metric(
            Gauge, "relais_outbox_backlog", "Events written but not yet published.",
            ("service",)).labels(**labels)
        self.dead_letters = metric(
            Gauge, "relais_dead_letters", "Messages waiting in a dead-letter queue.",
            ("service", "queue"))
        self.outbox_oldest_age = metric(
            Gauge, "relais_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest event written to the outbox and not yet published "
            "(0 when none waits).", ("service",)).labels(**labels)
        self.database_up = metric(
            Gauge, "relais_database_up",
            "1 when the service's database answers (what /ready checks), else 0.",
            ("service",)).labels(**labels)
        self.service_name = service_name
        self._counters = {}

    def gauge(self, name, doc, labelnames=()):
        """A business gauge (bookings, occupancy...) in this service's registry."""
        return Gauge(name, doc, labelnames=labelnames, registry=self.registry)

    def counter(self, name, doc, labelnames=()):
        """A counter in this service's registry, the same one for every
        extension that asks for it by name (a second registration of the name
        would fail with "Duplicated timeseries")."""
        if name not in self._counters:
            self._counters[name] = Counter(name, doc, labelnames=labelnames,
                                           registry=self.registry)
        return self._counters[name]


def for_container(container):
    """The metrics of one container (extensions see it through a weakref proxy,
    so the metrics live on the container itself)."""
    metrics = getattr(container, "relais_metrics", None)
    if metrics is None:
        metrics = container.relais_metrics = ServiceMetrics(container.service_name)
    return metrics


def watch_outbox(container, engine, outbox):
    """Read the outbox's lag at scrape time: the age of its oldest unpublished
    row. A backlog count says how much waits; the age says for how long, which
    is what an alert on a stuck relay needs (a busy outbox is not a stuck one)."""
    def oldest_age():
        with Session(engine) as session:
            oldest = session.execute(
                select(func.extract("epoch", func.now() - func.min(outbox.c.created_at)))
                .where(outbox.c.published_at.is_(None))).scalar()
        return max(float(oldest or 0), 0.0)
    for_container(container).outbox_oldest_age.set_function(oldest_age)


def watch_database(container, engine):
    """What ``/ready`` answers, as a metric: alerts can tell "up but unready"."""
    def answers():
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return 1
        except Exception:
            return 0
    for_container(container).database_up.set_function(answers)


class ScrapeCache:
    """Keeps what an expensive collector computed for ``seconds``, so that two
    Prometheus servers (or a curl) scraping at once cost one query."""

    def __init__(self, seconds, compute):
        self.seconds = seconds
        self.compute = compute
        self.value = None
        self.at = None

    def get(self):
        now = time.monotonic()
        if self.at is None or now - self.at >= self.seconds:
            self.value = self.compute()
            self.at = now
        return self.value
