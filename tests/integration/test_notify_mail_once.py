"""A mail goes once even when notify is kill -9ed while sending it (issue 14).

notify runs as its own process (``common.run``, as in production) on the
test's vhost and database; the SMTP server is the test's (aiosmtpd), and it
holds the first mail at a step the test chooses while the test kills notify,
then lets go. notify restarted, the event comes back (it was never acked) and
the test counts the messages carrying its Message-ID. The hand-over point is
deliveries.py's: the delivery row committed just before the DATA terminator.
"""
import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from sqlalchemy.orm import Session

from services.notify import deliveries
from services.notify.mailer import Mailer
from services.notify.models import Base
from services.notify.templates import Mail
from tests.integration.conftest import RABBIT_API, database_url, rows, unit_of_work, wait_for
from tests.integration.test_reliable_events import MEMBER_ID, ORGANISATION_ID, confirmed_booking

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "evt-booking-booking.confirmed--notify.on_booking_confirmed"
CONSUMER = "notify.on_booking_confirmed"


class HoldingSink:
    """Keeps every message; holds the first mail at ``hold_at``: ``RCPT`` (before
    any of it was delivered) or ``DATA`` (stored, the 250 not yet answered)."""

    def __init__(self, hold_at):
        self.hold_at, self.received = hold_at, []
        self.holding = self.released = False

    async def hold(self, step):
        if step != self.hold_at or self.holding:
            return
        self.holding = True
        while not self.released:
            await asyncio.sleep(0.02)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self.hold("RCPT")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.content.decode())
        await self.hold("DATA")
        return "250 OK"

    def with_message_id(self, message_id):
        return [m for m in self.received if f"Message-ID: {message_id}\r\n" in m]


@pytest.fixture
def smtp(smtp_server):
    def start(hold_at=None):
        sink = HoldingSink(hold_at)
        return sink, smtp_server(sink)
    return start


@pytest.fixture
def notify_process(broker, databases, tmp_path):
    """start(smtp_port) -> a notify process; kill(process) kill -9s it."""
    processes = []
    env = dict(os.environ, PYTHONUNBUFFERED="1", RELAIS_AMQP_URI=broker.uri("notify"),
               RELAIS_BROKER_USER_PREFIX=broker.user_prefix,
               RELAIS_DATABASE_URL=database_url("notify"), RELAIS_HTTP_ADDRESS="127.0.0.1:0",
               RELAIS_SMTP_HOST="127.0.0.1", RELAIS_DAILY_MAILS="0",
               RELAIS_RETRY_DELAYS_MS="100,200,400")

    def start(smtp_port):
        log = open(tmp_path / f"notify-{len(processes)}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "common.run", "services.notify.service"], cwd=ROOT,
            env=dict(env, RELAIS_SMTP_PORT=str(smtp_port)), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(process)
        assert wait_for(lambda: consumers(broker.vhost, QUEUE) > 0 or process.poll(),
                        timeout=60) and process.poll() is None, \
            (tmp_path / f"notify-{len(processes) - 1}.log").read_text()
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def consumers(vhost, queue):
    answer = requests.get(f"{RABBIT_API}/queues/{quote(vhost, safe='')}/{queue}", timeout=5)
    return answer.json().get("consumers", 0) if answer.status_code == 200 else 0


def kill_9(process):
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def known_member(databases):
    with databases["notify"].begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO contacts (user_id, email, full_name, organisation_id, roles) "
            "VALUES (%s, 'lou@entreprise.example', 'Lou Nomade', %s, '{member}')",
            (MEMBER_ID, ORGANISATION_ID))


def handled(databases, event_id):
    return rows(databases["notify"], "SELECT 1 FROM inbox WHERE event_id = :id AND consumer = :c",
                id=event_id, c=CONSUMER)


def delivery_states(databases, event_id):
    return [r["state"] for r in rows(databases["notify"],
                                     "SELECT state FROM deliveries WHERE event_id = :id",
                                     id=event_id)]


def kill_notify_while_the_sink_holds(hold_at, smtp, notify_process, publish_event, databases):
    """The first mail held at ``hold_at``, notify killed, the hold let go,
    notify restarted and the event handled again: the sink and the event."""
    sink, port = smtp(hold_at)
    known_member(databases)
    first = notify_process(port)
    envelope = publish_event("booking", "booking.confirmed", confirmed_booking())
    assert wait_for(lambda: sink.holding, timeout=20)
    kill_9(first)
    sink.released = True
    notify_process(port)
    assert wait_for(lambda: handled(databases, envelope["event_id"]), timeout=30)
    wait_for(lambda: len(sink.received) > 1, timeout=2)  # room for a second copy to show up
    return sink, envelope


@pytest.mark.parametrize("hold_at, state", [
    # the answer was never read: handed over, not known as sent
    pytest.param("DATA", "handed_over", id="killed after the server took the mail"),
    # nothing was delivered: the restarted notify sends it
    pytest.param("RCPT", "sent", id="killed before the mail was handed over"),
])
def test_a_mail_goes_once_when_notify_is_killed_while_sending(
        hold_at, state, smtp, notify_process, publish_event, databases):
    sink, envelope = kill_notify_while_the_sink_holds(
        hold_at, smtp, notify_process, publish_event, databases)

    assert len(sink.with_message_id(deliveries.message_id_for(envelope))) == 1
    assert len(sink.received) == 1
    assert delivery_states(databases, envelope["event_id"]) == [state]


# -- the guard against a second worker, in-process ----------------------------------

class ReplicaFirstSink(HoldingSink):
    """While the mail is at RCPT, another replica commits its hand-over of the
    same mail (what a redelivery racing the first worker would do)."""

    def __init__(self, engine, key):
        super().__init__(hold_at=None)
        self.engine, self.key = engine, key

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.key is not None:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO deliveries (id, event_id, event_type, channel, recipient, "
                    "subject, message_id, state) VALUES (%s, %s, 'booking.confirmed', 'email', "
                    "%s, 'the other replica', '<x@relais-des-possibles>', 'handed_over')",
                    (str(uuid.uuid4()), self.key, address.strip("<>")))
            self.key = None
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


def a_mail():
    return Mail("lou@entreprise.example", "Réservation confirmée", "Bonjour,\n")


def test_a_mail_another_worker_handed_over_meanwhile_is_held_back(databases, smtp_server):
    key = str(uuid.uuid4())
    sink = ReplicaFirstSink(databases["notify"], key)
    mailer = Mailer("127.0.0.1", smtp_server(sink), "Relais <no-reply@relais.test>")
    try:
        with Session(databases["notify"]) as session:
            sent = deliveries.send_once(session, mailer, key, "booking.confirmed", a_mail(),
                                        f"<{key}@relais-des-possibles>")
            session.commit()
        assert sent is False
        assert sink.received == []    # the connection dropped before the terminator
        assert rows(databases["notify"], "SELECT subject FROM deliveries")[0]["subject"] == \
            "the other replica"
        # the connection held back is not reused: the next mail opens another
        other = str(uuid.uuid4())
        with Session(databases["notify"]) as session:
            assert deliveries.send_once(session, mailer, other, "booking.confirmed", a_mail(),
                                        f"<{other}@relais-des-possibles>") is True
            session.commit()
        assert len(sink.received) == 1 and mailer.opened == 2
        assert delivery_states(databases, other) == ["sent"]
    finally:
        mailer.close()


def test_a_redelivered_invitation_already_handed_over_mints_no_new_link(databases):
    """A new link would void the one in the mail already handed over."""
    known_member(databases)
    event = {"event_id": str(uuid.uuid4()), "type": "identity.invitation_issued"}
    with databases["notify"].begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO deliveries (id, event_id, event_type, channel, recipient, subject, "
            "message_id, state) VALUES (%s, %s, %s, 'email', 'lou@entreprise.example', "
            "'Invitation', '<x@relais-des-possibles>', 'handed_over')",
            (str(uuid.uuid4()), event["event_id"], event["type"]))
    minted = []
    with unit_of_work(databases["notify"], "notify", Base.metadata) as uow:
        deliveries.tell_invitation(uow, mailer=None, event=event,
                                   data={"user_id": MEMBER_ID, "invitation_id": "i-1"},
                                   issue_link=minted.append)
    assert minted == []
