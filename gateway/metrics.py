"""The gateway's Prometheus metrics. gunicorn runs several worker processes, so
metrics go through prometheus-client's multiprocess mode when
PROMETHEUS_MULTIPROC_DIR is set (the gunicorn config sets it)."""
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client import REGISTRY

from common.metrics import LATENCY_BUCKETS

http_request_duration = Histogram(
    "relais_http_request_duration_seconds", "HTTP requests handled by the gateway.",
    ("method", "route", "status"), buckets=LATENCY_BUCKETS)
rpc_duration = Histogram(
    "relais_rpc_client_duration_seconds", "RPC calls from the gateway to the services.",
    ("service", "method", "outcome"), buckets=LATENCY_BUCKETS)
token_rejections = Counter(
    "relais_gateway_token_rejections_total", "Requests refused for a bad access token.",
    ("reason",))


def exposition():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
