"""The outbox relay: publishes the events a service committed to its outbox.

A unit of work writes each event in the same transaction as the state change;
this loop then publishes unsent rows to the service's event exchange with
publisher confirms, and marks them sent. A crash between the publish and the
mark re-publishes the event on restart: consumers deduplicate by ``event_id``.
Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so that replicas of a service
share the backlog instead of publishing each row twice.

One pass is one transaction and one broker round trip, however many rows it
holds: the rows are claimed and marked by a single ``UPDATE ... RETURNING``,
published back to back on a channel in confirm mode, and the pass waits once
for the broker to confirm them all (``BatchPublisher``); only then does it
commit. A nack, a lost connection or a timeout rolls the pass back, so the
rows stay unsent and are published again. Passes are at least
``OUTBOX_MIN_GAP_SECONDS`` apart (default 50 ms), so that under load a pass
carries the events of several commits instead of one each.
"""
import json
import logging
import time
from datetime import datetime, timedelta, timezone

import amqp
from kombu import Connection
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common import metrics
from common.broker_users import user_id_of
from common.events import event_exchange_name

log = logging.getLogger(__name__)

BATCH_SIZE = 200
PUBLISHED_RETENTION = timedelta(days=7)
PRUNE_EVERY_SECONDS = 3600
CONFIRM_TIMEOUT_SECONDS = 10.0
PERSISTENT = 2


class Nacked(Exception):
    """The broker refused (nacked) a published event."""


class BatchPublisher:
    """Publishes JSON messages to one exchange and waits for the broker's
    confirms once per batch, not once per message. One connection, opened on
    first use and again after any failure."""

    def __init__(self, amqp_uri, exchange_name, confirm_timeout=CONFIRM_TIMEOUT_SECONDS):
        self.amqp_uri, self.exchange_name = amqp_uri, exchange_name
        self.user_id = user_id_of(amqp_uri)  # consumers check who published (common/consumer.py)
        self.confirm_timeout = confirm_timeout
        self.connection = self.channel = None
        self.published = self.confirmed = 0   # delivery tags of this channel
        self.nacked = False

    def _open(self):
        self.connection = Connection(self.amqp_uri, transport="pyamqp")
        self.connection.connect()
        channel = self.connection.connection.channel()
        channel.exchange_declare(self.exchange_name, "topic", durable=True, auto_delete=False)
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self.channel, self.published, self.confirmed, self.nacked = channel, 0, 0, False

    def _on_ack(self, delivery_tag, multiple):
        self.confirmed = max(self.confirmed, delivery_tag)

    def _on_nack(self, delivery_tag, multiple):
        self.nacked = True
        self.confirmed = max(self.confirmed, delivery_tag)

    def close(self):
        connection, self.connection, self.channel = self.connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # noqa: BLE001 - going away either way
                pass

    def publish_all(self, messages):
        """Publish ``[(body, routing_key, message_id, headers)]`` and return
        once the broker confirmed every one; raise if it nacked one or did not
        answer in time. A connection that went stale is reopened once."""
        for attempt in (1, 2):
            try:
                return self._publish_all(messages)
            except (OSError, amqp.exceptions.ConnectionError,
                    amqp.exceptions.RecoverableConnectionError, amqp.exceptions.ChannelError):
                self.close()
                if attempt == 2:
                    raise
            except BaseException:
                self.close()
                raise

    def _publish_all(self, messages):
        if not messages:
            return
        if self.channel is None:
            self._open()
        channel = self.channel
        for body, routing_key, message_id, headers in messages:
            channel.basic_publish(amqp.Message(
                json.dumps(body), content_type="application/json", content_encoding="utf-8",
                delivery_mode=PERSISTENT, message_id=message_id, application_headers=headers,
                user_id=self.user_id,
            ), exchange=self.exchange_name, routing_key=routing_key)
            self.published += 1
        deadline = time.monotonic() + self.confirm_timeout
        while self.confirmed < self.published:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the broker did not confirm the outbox batch in time")
            self.connection.connection.drain_events(timeout=remaining)
        if self.nacked:
            raise Nacked("the broker nacked an outbox event")


class OutboxRelay:
    def __init__(self, engine, outbox, container, news):
        self.engine = engine
        self.outbox = outbox
        self.service_name = container.service_name
        self.interval = container.config.get("OUTBOX_INTERVAL_SECONDS", 1.0)
        self.min_gap = container.config.get("OUTBOX_MIN_GAP_SECONDS", 0.05)
        self.news = news
        self.running = True
        self.publisher = BatchPublisher(container.config["AMQP_URI"],
                                        event_exchange_name(self.service_name))
        claimed = (select(outbox.c.id).where(outbox.c.published_at.is_(None))
                   .order_by(outbox.c.id).limit(BATCH_SIZE)
                   .with_for_update(skip_locked=True).scalar_subquery())
        self.claim = (outbox.update().where(outbox.c.id.in_(claimed))
                      .values(published_at=func.now())
                      .returning(outbox.c.id, outbox.c.event_type, outbox.c.envelope))
        self.metrics = metrics.for_container(container)
        self.metrics.outbox_backlog.set_function(self.backlog)
        self._last_prune = 0.0

    def run(self):
        try:
            while self.running:
                started = time.monotonic()
                try:
                    while self.running and self.publish_batch() == BATCH_SIZE:
                        pass
                    self.prune_if_due()
                except Exception:  # broker or database away: keep the rows, try again
                    log.exception("outbox relay pass failed; retrying")
                    time.sleep(1)
                self.news.wait(self.interval)
                # Let the commits of the next few milliseconds join this pass.
                gap = self.min_gap - (time.monotonic() - started)
                if gap > 0 and self.running:
                    time.sleep(gap)
                self.news.clear()
        finally:
            self.publisher.close()

    def stop(self):
        self.running = False
        self.news.set()

    def publish_batch(self):
        """Claim, mark, publish and confirm up to BATCH_SIZE rows in one
        transaction: the marks commit only once the broker confirmed them all."""
        with Session(self.engine) as session, session.begin():
            rows = sorted(session.execute(self.claim).all())
            self.publisher.publish_all([
                (row.envelope, row.event_type, row.envelope["event_id"],
                 {"relais.event_type": row.event_type}) for row in rows])
        for row in rows:
            self.metrics.events_published.labels(self.service_name, row.event_type).inc()
        return len(rows)

    def prune_if_due(self):
        now = time.monotonic()
        if now - self._last_prune < PRUNE_EVERY_SECONDS:
            return
        self._last_prune = now
        cutoff = datetime.now(timezone.utc) - PUBLISHED_RETENTION
        with Session(self.engine) as session, session.begin():
            session.execute(self.outbox.delete().where(self.outbox.c.published_at < cutoff))

    def backlog(self):
        with Session(self.engine) as session:
            return session.execute(
                select(func.count()).select_from(self.outbox)
                .where(self.outbox.c.published_at.is_(None))
            ).scalar_one()
