"""What every Relais service has, the same way: metrics, call-context logging,
``/health`` and ``/metrics`` over HTTP. A service class inherits from
``RelaisService`` and adds its own ``db = Database(Base)`` and entrypoints."""
import functools
import json
import logging
import time

from kombu import Connection
from kombu.pools import producers
from nameko import rpc as nameko_rpc
from nameko.amqp.publish import Publisher
from nameko.constants import DEFAULT_TRANSPORT_OPTIONS
from nameko.extensions import DependencyProvider
from nameko.web.handlers import http
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from werkzeug.wrappers import Response

from common import deadletters
from common.broker_users import user_id_of
from common.caller import load_caller
from common.consumer import ReliableEventHandler
from common.errors import Forbidden, RelaisError
from common.logging import set_call_id_stack
from common.rpc import rpc
from common.metrics import for_container
from contracts.rpc.operations import DeadLetterQueueSchema


log = logging.getLogger("relais.entrypoints")


class ReplyPublisher(Publisher):
    """Publishes RPC replies without waiting for a publisher confirm.

    A reply goes to the caller's exclusive, non-durable reply queue: a broker
    that restarts loses it whether it was confirmed or not, and the caller's
    timeout (then a retry, idempotent by its key) is what covers a lost reply.
    The confirm bought nothing and cost every RPC a broker round trip (~10 %
    of booking's profile). Events and parked messages keep their confirms.

    A reply carries the service's broker user as ``user_id``, as every Relais
    message does (common/broker_users.py).

    nameko makes a publisher for every reply, and its ``publish`` builds a
    kombu ``Connection`` (parsing the broker URL) only to look up the pool of
    producers: ~1 % of booking's samples under load. Here the user and the
    pool's key are made once per broker setting; the reply goes through the
    same kombu producer pool, with the same retry policy."""
    use_confirms = False

    def __init__(self, amqp_uri, **options):
        super().__init__(amqp_uri, user_id=_user_id(amqp_uri), **options)

    def publish(self, payload, **kwargs):
        """``payload`` to ``kwargs["exchange"]`` with ``routing_key``,
        ``serializer`` and ``correlation_id`` (what nameko's Responder gives)."""
        if self.ssl is not None:  # TLS options (a dict) cannot key the cache: nameko's way
            return super().publish(payload, **kwargs)
        with producers[_reply_pool_key(self.amqp_uri, self.login_method)].acquire(
                block=True) as producer:
            producer.publish(payload, delivery_mode=self.delivery_mode, retry=self.retry,
                             retry_policy=self.retry_policy, **self.publish_kwargs, **kwargs)


_user_id = functools.lru_cache(maxsize=8)(user_id_of)


@functools.lru_cache(maxsize=8)
def _reply_pool_key(amqp_uri, login_method):
    """The kombu Connection that keys the pool of reply producers (no confirms)."""
    return Connection(amqp_uri, login_method=login_method,
                      transport_options=dict(DEFAULT_TRANSPORT_OPTIONS, confirm_publish=False))


nameko_rpc.Responder.publisher_cls = ReplyPublisher


class EntrypointMetrics(DependencyProvider):
    """Times every entrypoint, counts its errors and logs one line per call
    (with the call id stack, via CallContext), without the service code having
    to do anything."""

    def setup(self):
        self.metrics = for_container(self.container)
        self.started = {}

    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        if started is None:
            return
        name = worker_ctx.entrypoint.method_name
        elapsed = time.perf_counter() - started
        self.metrics.entrypoint_latency.labels(self.container.service_name, name).observe(elapsed)
        fields = {"entrypoint": name, "duration_ms": round(elapsed * 1000, 2)}
        if exc_info is None:
            log.info("%s done", name, extra=fields)
            return
        self.metrics.entrypoint_errors.labels(
            self.container.service_name, name, exc_info[0].__name__).inc()
        if issubclass(exc_info[0], RelaisError):  # an answer to the caller, not a fault
            log.info("%s refused: %s", name, exc_info[1].code, extra=fields)
        else:
            log.error("%s failed", name, exc_info=exc_info, extra=fields)

    def get_dependency(self, worker_ctx):
        return self.metrics


class CallContext(DependencyProvider):
    """Makes the worker's call id stack visible to every log line it writes."""

    def worker_setup(self, worker_ctx):
        set_call_id_stack(worker_ctx.call_id_stack)

    def worker_teardown(self, worker_ctx):
        set_call_id_stack(None)

    def get_dependency(self, worker_ctx):
        return worker_ctx.call_id_stack


class DeadLetters(DependencyProvider):
    """This service's dead-letter queues (one per reliable consumer), as a
    report of their depth and first events: ``self.dead_letter_report()``."""

    def get_dependency(self, worker_ctx):
        queues = [entrypoint.dead_letter_queue.name for entrypoint in self.container.entrypoints
                  if isinstance(entrypoint, ReliableEventHandler)]
        return lambda: deadletters.report(self.container.config["AMQP_URI"],
                                          self.container.service_name, queues)


class RelaisService:
    metrics = EntrypointMetrics()
    call_id_stack = CallContext()
    dead_letter_report = DeadLetters()

    @rpc
    def dead_letters(self, caller):
        """Read-only, for the network's team: GET /v1/dead-letters asks every
        service (contracts/rpc/operations.py)."""
        if not load_caller(caller).sees_whole_network:
            raise Forbidden("Dead letters are for the network's team.")
        return DeadLetterQueueSchema(many=True).dump(self.dead_letter_report())

    @http("GET", "/health")
    def health(self, request):
        """Alive: the process answers. (Liveness must not depend on PostgreSQL.)"""
        return _json(200, {"status": "ok", "service": self.name})

    @http("GET", "/ready")
    def ready(self, request):
        """Ready: the service's database answers."""
        try:
            self.db.session.execute(text("SELECT 1"))
        except Exception as exc:  # report, do not crash the probe
            return _json(503, {"status": "unavailable", "service": self.name,
                               "database": type(exc).__name__})
        return _json(200, {"status": "ok", "service": self.name, "database": "ok"})

    @http("GET", "/metrics")
    def prometheus_metrics(self, request):
        return Response(generate_latest(self.metrics.registry),
                        content_type=CONTENT_TYPE_LATEST)


def _json(status, body):
    return Response(json.dumps(body), status=status, content_type="application/json")
