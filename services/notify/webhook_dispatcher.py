"""Sends claimed webhook deliveries concurrently, off the timer's worker: each
call runs in its own green thread with its own database session, so one slow
endpoint holds one slot of the pool, not the others' deliveries.

A consumer writes an event's deliveries already claimed by this process (as
many as the pool has free slots) and hands them over once committed
(``dispatch_soon``); if there were more, it wakes the dispatcher's green thread
(``wake``), which claims and sends them. While a claim may have left some
(it took as many as it asked for), each finished send wakes it again, so a
backlog larger than the pool (a fan-out to a thousand endpoints) is claimed as
slots free up rather than on the timer's ticks. Notify's timer stays as the safety
net: retries that fall due, another replica's rows, a hand-over lost to a
crash (the lease ends and the delivery is claimed again).

Successes are recorded in batches by one green thread (``_record_successes``):
each takes what succeeded while the previous batch was written, by one
statement committed on its own (no BEGIN nor COMMIT round trip), on one
connection. A failure is recorded at
once, by the green thread that sent it (it may disable the endpoint and mail
its owner). A process killed before its batch commits sent those deliveries
but did not record them: their lease ends and they are sent again with the
same ``webhook-id``, as after a kill between a send and its record before."""
import logging
import threading
import time
import uuid

import eventlet
from eventlet.queue import LightQueue
from nameko.extensions import DependencyProvider
from prometheus_client import Counter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common import metrics
from common.db import make_engine
from common.outbound import PinnedSessions
from services.notify import deliveries, templates, webhook_rules as rules, webhook_sender, webhooks
from services.notify.mailer import mailer_for
from services.notify.models import Contact, WebhookDelivery

log = logging.getLogger(__name__)


class WebhookDispatcher(DependencyProvider):
    POOL_SIZE = 100
    # The most successes one statement records.
    BATCH = 500

    def setup(self):
        config = self.container.config
        self.settings = webhooks.settings_from(config)
        # Few connections: a send holds one only to record its attempt, and
        # PostgreSQL's connections are shared by every replica of every service.
        self.engine = make_engine(config["DATABASE_URL"], pool_size=2, max_overflow=6,
                                  pool_timeout=30)
        # the "endpoint disabled" mail: counted with the consumers' mails
        self.mailer = mailer_for(self.container)
        self.pool = eventlet.GreenPool(self.POOL_SIZE)
        self.succeeded = LightQueue()   # (delivery id, outcome), or None: stop
        self._recorder = None
        # Kept-alive connections, per checked address (webhook_sender.py); as
        # many idle ones per receiver as calls may run at once.
        self.sessions = PinnedSessions(connections=self.POOL_SIZE)
        self._news = threading.Event()
        self._backlog = False   # a claim may have left due deliveries
        self._running = False
        registry = metrics.for_container(self.container)
        self.attempts = Counter(
            "relais_webhook_attempts_total", "Webhook calls, by outcome (succeeded, failed).",
            ("outcome",), registry=registry.registry)
        registry.gauge("relais_webhook_deliveries_pending",
                       "Webhook deliveries not yet succeeded nor given up.").set_function(
            self.pending)

    def pending(self):
        """Read at scrape time; -1 when the database cannot tell."""
        try:
            with Session(self.engine) as session:
                return session.execute(select(func.count()).select_from(WebhookDelivery)
                                       .where(WebhookDelivery.status == "pending")).scalar()
        except Exception:
            return -1

    def start(self):
        self._running = True
        self.container.spawn_managed_thread(self._send_on_news, identifier="webhook-waker")
        self._recorder = self.container.spawn_managed_thread(
            self._record_successes, identifier="webhook-recorder")

    def stop(self):
        self._running = False
        self._news.set()
        self.pool.waitall()
        self.succeeded.put(None)     # after what the last sends put there
        if self._recorder is not None:
            self._recorder.wait()
        self.sessions.close()
        self.engine.dispose()

    def kill(self):
        self._running = False
        self._news.set()
        for thread in list(self.pool.coroutines_running):
            thread.kill()
        self.sessions.close()
        self.engine.dispose()

    def wake(self):
        """Deliveries were just committed: claim and send them now."""
        self._backlog = True
        self._news.set()

    def _send_on_news(self):
        while self._running:
            self._news.wait()
            self._news.clear()  # rows committed from now on wake it again
            if not self._running:
                return
            try:
                self.send_due()
            except Exception:  # the timer finds them
                log.exception("could not claim webhook deliveries")

    def get_dependency(self, worker_ctx):
        return self

    def free_slots(self):
        return self.pool.free()

    def send_due(self):
        """Claim due deliveries (SKIP LOCKED, leased) and hand them to the
        pool, as many as it has free slots."""
        while self.pool.free():
            limit = self.pool.free()
            with Session(self.engine) as session, session.begin():
                claimed = webhooks.claim_due(session, webhooks.utcnow(), self.settings,
                                             limit=limit)
            self._backlog = len(claimed) == limit
            self.dispatch(claimed)
            if not self._backlog:
                return

    def dispatch(self, deliveries):
        for delivery in deliveries:
            self.pool.spawn_n(self._deliver, delivery)

    def dispatch_soon(self, deliveries):
        """``dispatch`` without waiting for a free slot (a consumer calls it
        after its commit, before its ack). Consumers lease as many deliveries
        as the pool has free slots, so several at once may lease more than it
        takes: one still waiting for a slot when half its lease is gone is left
        to be claimed again when the lease ends, so that no delivery is sent
        by this process and by a claimer at once."""
        give_up_at = time.monotonic() + self.settings.lease.total_seconds() / 2
        eventlet.spawn_n(self._dispatch_until, deliveries, give_up_at)

    def _dispatch_until(self, deliveries, give_up_at):
        for delivery in deliveries:
            if time.monotonic() > give_up_at:
                log.warning("%d webhook deliveries waited too long for a slot: "
                            "claimed again when their lease ends", len(deliveries))
                return
            self.pool.spawn_n(self._deliver, delivery)

    def _deliver(self, delivery):
        outcome = webhook_sender.send(delivery, self.settings, sessions=self.sessions)
        if rules.succeeded(outcome["status_code"]):
            self.attempts.labels("succeeded").inc()
            self.succeeded.put((delivery["id"], outcome))
        else:
            self.attempts.labels("failed").inc()
            self._record(delivery["id"], outcome)
        if self._backlog:  # this slot is free: claim what is left
            self._news.set()

    def _record(self, delivery_id, outcome):
        try:
            with Session(self.engine) as session, session.begin():
                disabled = webhooks.record_attempt(session, delivery_id, outcome, self.settings)
                if disabled is not None:
                    self._tell_owner(session, disabled)
        except Exception:  # the lease expires and the delivery is tried again
            log.exception("could not record webhook attempt %s", delivery_id)

    def _record_successes(self):
        """Until ``stop``: what succeeded since the last batch, by one
        statement committed on its own; if it fails, each apart (one bad row does not lose the
        others' records)."""
        stopping = False
        while not stopping:
            batch = [self.succeeded.get()]
            while len(batch) < self.BATCH and self.succeeded.qsize():
                batch.append(self.succeeded.get_nowait())
            stopping = None in batch
            batch = [item for item in batch if item is not None]
            try:
                webhooks.record_successes_alone(self.engine, batch, self.settings)
            except Exception:
                log.exception("could not record %d webhook successes at once", len(batch))
                for delivery_id, outcome in batch:
                    self._record(delivery_id, outcome)

    def _tell_owner(self, session, endpoint):
        contact = session.get(Contact, endpoint.created_by)
        if contact is None:
            log.warning("webhook endpoint %s disabled; its creator has no contact", endpoint.id)
            return
        mail = templates.webhook_disabled(contact, {
            "id": endpoint.id, "url": endpoint.url, "description": endpoint.description,
            "failing_since": endpoint.failing_since})
        event_id = str(uuid.uuid5(uuid.UUID(endpoint.id), endpoint.failing_since.isoformat()))
        deliveries.send_once(session, self.mailer, event_id, "webhook.endpoint_disabled", mail,
                             f"<{event_id}@relais-des-possibles>")
