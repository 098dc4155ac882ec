"""The outbox relay: publishes the events a service committed to its outbox.

A unit of work writes each event in the same transaction as the state change;
this loop then publishes unsent rows to the service's event exchange with
publisher confirms, and marks them sent. A crash between the publish and the
mark re-publishes the event on restart: consumers deduplicate by ``event_id``.
Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so that replicas of a service
share the backlog instead of publishing each row twice.
"""
import logging
import time
from datetime import datetime, timedelta, timezone

from kombu import Exchange
from nameko.amqp.publish import Publisher
from nameko.constants import PERSISTENT
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common import metrics
from common.events import event_exchange_name

log = logging.getLogger(__name__)

BATCH_SIZE = 200
PUBLISHED_RETENTION = timedelta(days=7)
PRUNE_EVERY_SECONDS = 3600


class OutboxRelay:
    def __init__(self, engine, outbox, container, news):
        self.engine = engine
        self.outbox = outbox
        self.service_name = container.service_name
        self.interval = container.config.get("OUTBOX_INTERVAL_SECONDS", 0.1)
        self.news = news
        self.running = True
        self.exchange = Exchange(
            event_exchange_name(self.service_name), type="topic", durable=True,
            delivery_mode=PERSISTENT,
        )
        self.publisher = Publisher(
            container.config["AMQP_URI"], use_confirms=True, serializer="json",
            declare=[self.exchange],
        )
        self.metrics = metrics.for_container(container)
        self.metrics.outbox_backlog.set_function(self.backlog)
        self._last_prune = 0.0

    def run(self):
        while self.running:
            try:
                while self.running and self.publish_batch() == BATCH_SIZE:
                    pass
                self.prune_if_due()
            except Exception:  # broker or database away: keep the rows, try again
                log.exception("outbox relay pass failed; retrying")
                time.sleep(1)
            self.news.wait(self.interval)
            self.news.clear()

    def stop(self):
        self.running = False
        self.news.set()

    def publish_batch(self):
        with Session(self.engine) as session, session.begin():
            rows = session.execute(
                select(self.outbox.c.id, self.outbox.c.event_type, self.outbox.c.envelope)
                .where(self.outbox.c.published_at.is_(None))
                .order_by(self.outbox.c.id)
                .limit(BATCH_SIZE)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                self.publisher.publish(
                    row.envelope, exchange=self.exchange, routing_key=row.event_type,
                    message_id=row.envelope["event_id"],
                    headers={"relais.event_type": row.event_type},
                )
                self.metrics.events_published.labels(self.service_name, row.event_type).inc()
            if rows:
                session.execute(
                    self.outbox.update()
                    .where(self.outbox.c.id.in_([row.id for row in rows]))
                    .values(published_at=func.now())
                )
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
