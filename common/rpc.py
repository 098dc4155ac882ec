"""RPC entrypoints that know who sent the request, and proxies that say it.

A service trusts the caller context an RPC carries (the user, organisation and
roles the gateway took from a verified token). That trust is only as good as
the sender: any process on the broker could otherwise publish
``booking.cancel_booking`` with someone else's context. So a request counts
only if its ``user_id`` property, which the broker checks against the
connection's user (``common.broker_users``), is one of the method's allowed
callers: the gateway, plus the services that really call it
(``@rpc(callers=("gateway", "booking"))``). Anything else is refused before a
worker runs, with ``UntrustedPublisher`` as the reply; the request's context is
never read.

A request whose transaction lost its database connection (PostgreSQL
restarting, a connection terminated) is answered ``Unavailable``
(``database-unavailable``, retry after 2 s: the gateway's 503 with
Retry-After), not an internal error: it rolled back whole, and a retry with
its idempotency key is safe.

``RpcProxy`` is nameko's, with the ``user_id`` of the service's own broker user
on every request, so the callee can tell who calls.

Both bind their queues to ``nameko-rpc`` without declaring it: it is declared
once, with the broker users (``common.broker_users.apply``), so that no
service needs the right to delete or redeclare it.
"""
import logging

from nameko.rpc import ReplyListener, Rpc, RpcConsumer, RpcProxy as NamekoRpcProxy

from common import broker_users, queues
from common.consumer import ReliableQueueConsumer
from common.db import database_unavailable
from common.errors import Unavailable, UntrustedPublisher

log = logging.getLogger("relais.rpc")

# What a caller hears to wait before retrying a request the database could not
# take: PostgreSQL restarting, or failing over to a standby, takes seconds.
DATABASE_RETRY_AFTER_SECONDS = 2


class PredeclaredRpcConsumer(RpcConsumer):
    queue_consumer = ReliableQueueConsumer()

    def setup(self):
        super().setup()
        self.queue.exchange.no_declare = True
        # a classic or a quorum queue, as every durable queue (common/queues.py)
        self.queue.queue_arguments = queues.durable_arguments(
            self.container.config.get("QUEUE_TYPE", queues.CLASSIC))


class PredeclaredReplyListener(ReplyListener):
    queue_consumer = ReliableQueueConsumer()

    def setup(self):
        super().setup()
        self.queue.exchange.no_declare = True
        # nameko declares its reply queue durable: a durable classic queue
        # whose node died cannot be declared again until that node returns, so
        # the whole service would stay disconnected. A transient one goes with
        # its node and is declared afresh on the node the service reconnects to.
        self.queue.durable = False


class CallerCheckedRpc(Rpc):
    rpc_consumer = PredeclaredRpcConsumer()

    def __init__(self, callers=(broker_users.GATEWAY,), **kwargs):
        self.callers = tuple(callers)
        super().__init__(**kwargs)

    def setup(self):
        super().setup()
        user_prefix = self.container.config.get("BROKER_USER_PREFIX")
        self.allowed_users = frozenset(
            broker_users.user_name(caller, user_prefix) for caller in self.callers)

    def handle_result(self, message, worker_ctx, result, exc_info):
        if exc_info is not None and database_unavailable(exc_info[1]):
            # The transaction rolled back whole: the caller may retry (with its
            # Idempotency-Key), and should hear "unavailable", not a bug (500).
            log.warning("%s.%s: database unavailable (%s)", self.container.service_name,
                        self.method_name, type(exc_info[1].orig).__name__)
            unavailable = Unavailable(
                "The service's database is unavailable; try again in a moment.",
                code="database-unavailable",
                fields={"retry_after_seconds": [DATABASE_RETRY_AFTER_SECONDS]})
            exc_info = (Unavailable, unavailable, exc_info[2])
        return super().handle_result(message, worker_ctx, result, exc_info)

    def handle_message(self, body, message):
        publisher = message.properties.get("user_id")
        if publisher not in self.allowed_users:
            name = f"{self.container.service_name}.{self.method_name}"
            log.warning("refused %s from broker user %r (allowed: %s)", name, publisher,
                        ", ".join(sorted(self.allowed_users)))
            # Raised here, the RPC consumer replies with it and acks the request.
            raise UntrustedPublisher(f"{name} accepts no request from this broker user.")
        super().handle_message(body, message)


rpc = CallerCheckedRpc.decorator


class RpcProxy(NamekoRpcProxy):
    rpc_reply_listener = PredeclaredReplyListener()

    def setup(self):
        super().setup()
        self.options = dict(self.options,
                            user_id=broker_users.user_id_of(self.container.config["AMQP_URI"]))
