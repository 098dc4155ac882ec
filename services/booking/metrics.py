"""Booking's business metrics, in the container's own registry."""
from nameko.extensions import DependencyProvider
from prometheus_client import Counter

from common.metrics import for_container


class BookingMetrics(DependencyProvider):
    def setup(self):
        self.bookings = Counter(
            "relais_bookings_total",
            "Booking requests by outcome: confirmed, or the code of the rule that refused.",
            ("outcome",), registry=for_container(self.container).registry)

    def get_dependency(self, worker_ctx):
        return self
