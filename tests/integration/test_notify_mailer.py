"""notify's Mailer keeps its SMTP connections open between mails: against a
real SMTP server (aiosmtpd), a reused connection the server closed meanwhile
is reopened without losing or doubling a mail. Its hand-over point, just
before the DATA terminator, decides whether the server gets the mail. Each
test runs against a server that advertises PIPELINING (MAIL, RCPT and DATA
then go in one write) and one that does not."""
import email
import smtplib
import socket
import threading
import time
import uuid
from email import policy

import pytest
from sqlalchemy.orm import Session

from common import metrics
from services.notify import deliveries
from services.notify.mailer import HELD_BACK, OUTCOME_UNKNOWN, SENT, Mailer, MailerProvider
from services.notify.templates import Mail
from services.notify.webhook_dispatcher import WebhookDispatcher
from tests.integration.conftest import database_url


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class CountingSink:
    """Keeps every mail and counts the SMTP sessions (one EHLO each)."""

    def __init__(self, refusals=0, hang_up=False, pipelining=False, unknown=()):
        self.received, self.sessions, self.refusals = [], 0, refusals
        self.hang_up = hang_up   # keep the mail, then close without answering
        self.pipelining = pipelining
        self.unknown = set(unknown)   # recipients refused at RCPT

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        if self.pipelining:   # aiosmtpd reads commands line by line: it takes them pipelined
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refusals > 0:
            self.refusals -= 1
            return "451 Requested action aborted: try again later"
        self.received.append(email.message_from_bytes(envelope.content, policy=policy.default))
        if self.hang_up:
            server.transport.close()
        return "250 OK"


@pytest.fixture(params=[False, True], ids=["one-at-a-time", "pipelining"])
def sink(smtp_server, request):
    def start(refusals=0, hang_up=False, unknown=(), **smtp_options):
        handler = CountingSink(refusals, hang_up, request.param, unknown)
        return handler, smtp_server(handler, **smtp_options)
    return start


def mail(number):
    return Mail(f"membre{number}@entreprise.example",
                f"Réservation confirmée : Relais de Felletin, 0{number}/12/2026",
                f"Bonjour,\n\nVotre réservation n° {number} est confirmée.\n.\n")


def test_mails_share_one_connection_and_read_back_as_sent(sink):
    handler, port = sink()
    mailer = Mailer("127.0.0.1", port, "Relais des Possibles <no-reply@relais.test>")
    for number in (1, 2, 3):
        mailer.send(mail(number), f"<event-{number}@relais-des-possibles>")
    mailer.close()

    assert (handler.sessions, mailer.opened, len(handler.received)) == (1, 1, 3)
    first = handler.received[0]
    assert first["Subject"] == "Réservation confirmée : Relais de Felletin, 01/12/2026"
    assert first["To"] == "membre1@entreprise.example"
    assert first["From"] == "Relais des Possibles <no-reply@relais.test>"
    assert first["Message-ID"] == "<event-1@relais-des-possibles>"
    # A line holding a single dot survives SMTP's dot-stuffing.
    assert first.get_content().replace("\r\n", "\n") == (
        "Bonjour,\n\nVotre réservation n° 1 est confirmée.\n.\n")


def test_a_connection_the_server_closed_while_idle_is_reopened_once(sink):
    # The server drops a session idle for 0.3 s (it answers 421 and closes).
    handler, port = sink(timeout=0.3)
    mailer = Mailer("127.0.0.1", port, "Relais <no-reply@relais.test>")
    mailer.send(mail(1), "<event-1@relais-des-possibles>")
    time.sleep(1.0)
    mailer.send(mail(2), "<event-2@relais-des-possibles>")
    mailer.close()

    assert [m["Message-ID"] for m in handler.received] == [
        "<event-1@relais-des-possibles>", "<event-2@relais-des-possibles>"]
    assert (handler.sessions, mailer.opened) == (2, 2)


def test_a_server_gone_for_good_is_an_error_not_a_silent_loss(sink):
    handler, port = sink()
    mailer = Mailer("127.0.0.1", port, "Relais <no-reply@relais.test>")
    mailer.send(mail(1), "<event-1@relais-des-possibles>")
    mailer.port = free_port()          # nothing listens there
    mailer._idle[0][0].close()         # and the pooled connection is dead
    with pytest.raises((smtplib.SMTPException, OSError)):
        mailer.send(mail(2), "<event-2@relais-des-possibles>")
    assert len(handler.received) == 1


def test_a_refused_mail_raises_and_its_connection_is_not_reused(sink):
    handler, port = sink(refusals=1)
    mailer = Mailer("127.0.0.1", port, "Relais <no-reply@relais.test>")
    with pytest.raises(smtplib.SMTPDataError):
        mailer.send(mail(1), "<event-1@relais-des-possibles>")
    mailer.send(mail(1), "<event-1@relais-des-possibles>")
    mailer.close()
    assert len(handler.received) == 1
    assert mailer.opened == 2


class Handover:
    """Records what the mailer asked, and answers ``proceed``."""

    def __init__(self, handler, proceed=True):
        self.handler, self.proceed = handler, proceed
        self.received_before, self.refusals = None, 0

    def before_terminator(self):
        self.received_before = len(self.handler.received)
        return self.proceed

    def refused(self):
        self.refusals += 1


def test_the_terminator_leaves_only_after_the_hand_over_said_yes(sink):
    handler, port = sink()
    mailer = Mailer("127.0.0.1", port, "Relais <no-reply@relais.test>")
    handover = Handover(handler)
    assert mailer.send(mail(1), "<event-1@relais-des-possibles>", handover) == SENT
    mailer.close()
    # the whole message was written, yet the server had delivered nothing
    assert (handover.received_before, len(handler.received)) == (0, 1)
    assert handler.received[0].get_content().replace("\r\n", "\n") == (
        "Bonjour,\n\nVotre réservation n° 1 est confirmée.\n.\n")


def test_a_mail_held_back_before_the_terminator_is_not_delivered(sink):
    handler, port = sink()
    mailer = Mailer("127.0.0.1", port, "Relais <no-reply@relais.test>")
    assert mailer.send(mail(1), "<event-1@relais-des-possibles>",
                       Handover(handler, proceed=False)) == HELD_BACK
    time.sleep(0.2)
    assert handler.received == []
    mailer.send(mail(2), "<event-2@relais-des-possibles>")   # on a new connection
    mailer.close()
    assert [m["Message-ID"] for m in handler.received] == ["<event-2@relais-des-possibles>"]
    assert mailer.opened == 2


def test_a_refusal_after_the_terminator_undoes_the_hand_over_and_raises(sink):
    handler, port = sink(refusals=1)
    mailer = Mailer("127.0.0.1", port, "Relais <no-reply@relais.test>")
    handover = Handover(handler)
    with pytest.raises(smtplib.SMTPDataError):
        mailer.send(mail(1), "<event-1@relais-des-possibles>", handover)
    assert handover.refusals == 1


class Counter:
    value = 0

    def inc(self):
        self.value += 1


def test_no_answer_after_the_terminator_counts_as_handed_over(sink):
    handler, port = sink(hang_up=True)
    mailer = Mailer("127.0.0.1", port, "Relais <no-reply@relais.test>",
                    outcome_unknown=Counter())
    handover = Handover(handler)
    assert mailer.send(mail(1), "<event-1@relais-des-possibles>", handover) == OUTCOME_UNKNOWN
    assert (len(handler.received), handover.refusals, mailer.outcome_unknown.value) == (1, 0, 1)
    # without a hand-over, the same silence is an error, as before
    with pytest.raises(smtplib.SMTPServerDisconnected):
        mailer.send(mail(2), "<event-2@relais-des-possibles>")


class NotifyContainer:
    """What notify's dependency providers read of their nameko container."""
    service_name = "notify"

    def __init__(self, config):
        self.config = config


def test_the_webhook_dispatchers_mail_with_no_answer_is_counted_with_the_others(
        sink, databases):
    """The "endpoint disabled" mail goes through the same hand-over as the
    consumers' mails: an outcome left unknown there counts in the same series,
    the one the alert watches."""
    handler, port = sink(hang_up=True)
    container = NotifyContainer({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port,
                                 "MAIL_FROM": "Relais <no-reply@relais.test>",
                                 "DATABASE_URL": database_url("notify")})
    consumers = MailerProvider().bind(container, "mailer")
    dispatcher = WebhookDispatcher().bind(container, "webhook_dispatcher")
    consumers.setup()
    dispatcher.setup()   # the same counter, not a second one ("Duplicated timeseries")
    key = str(uuid.uuid4())
    try:
        with Session(databases["notify"]) as session, session.begin():
            assert deliveries.send_once(session, dispatcher.mailer, key,
                                        "webhook.endpoint_disabled", mail(1),
                                        f"<{key}@relais-des-possibles>") is True
    finally:
        dispatcher.engine.dispose()
    registry = metrics.for_container(container).registry
    assert registry.get_sample_value("relais_notify_mail_outcome_unknown_total") == 1
    assert dispatcher.mailer.outcome_unknown is consumers.mailer.outcome_unknown
    assert len(handler.received) == 1


class Writes:
    """Counts the writes a Mailer's connections make."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = smtplib.SMTP.send

        def send(smtp, data):
            self.count += 1
            return original(smtp, data)
        monkeypatch.setattr(smtplib.SMTP, "send", send)


def test_with_pipelining_mail_rcpt_and_data_go_in_one_write(sink, monkeypatch):
    handler, port = sink()
    mailer = Mailer("127.0.0.1", port, "Relais <no-reply@relais.test>")
    mailer.send(mail(1), "<event-1@relais-des-possibles>")   # the connection and EHLO
    writes = Writes(monkeypatch)
    assert mailer.send(mail(2), "<event-2@relais-des-possibles>", Handover(handler)) == SENT
    # MAIL, RCPT, DATA, the message, the terminator; pipelined, the first three at once
    assert writes.count == (3 if handler.pipelining else 5)
    mailer.close()
    assert [m["Message-ID"] for m in handler.received] == [
        "<event-1@relais-des-possibles>", "<event-2@relais-des-possibles>"]


def test_a_refused_recipient_raises_before_any_hand_over_and_drops_the_connection(sink):
    handler, port = sink(unknown={"membre1@entreprise.example"})
    mailer = Mailer("127.0.0.1", port, "Relais <no-reply@relais.test>")
    handover = Handover(handler)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        mailer.send(mail(1), "<event-1@relais-des-possibles>", handover)
    assert refused.value.recipients["membre1@entreprise.example"][0] == 550
    assert handover.received_before is None   # never asked: no delivery row written
    assert mailer._idle == []                 # the connection was not kept
    assert mailer.send(mail(2), "<event-2@relais-des-possibles>") == SENT
    mailer.close()
    time.sleep(0.1)
    assert [m["Message-ID"] for m in handler.received] == ["<event-2@relais-des-possibles>"]
    assert mailer.opened == 2


def test_a_server_that_takes_data_after_refusing_the_recipient_gets_no_terminator():
    """RFC 2920 has a server refuse the pipelined DATA when no recipient was
    accepted; one that answers 354 anyway is given neither a message nor a
    terminator: the connection drops, which aborts the transaction."""
    received, ready = [], threading.Event()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def serve():
            connection, _ = listener.accept()
            with connection:
                connection.sendall(b"220 lax.example ESMTP\r\n")
                connection.recv(1000)   # EHLO
                connection.sendall(b"250-lax.example\r\n250-PIPELINING\r\n250 HELP\r\n")
                data = b""
                while data.count(b"\r\n") < 3:
                    data += connection.recv(1000)
                connection.sendall(b"250 OK\r\n550 5.1.1 No such user\r\n354 Go ahead\r\n")
                while chunk := connection.recv(1000):
                    data += chunk
                received.append(data)
            ready.set()

        threading.Thread(target=serve, daemon=True).start()
        mailer = Mailer("127.0.0.1", listener.getsockname()[1], "Relais <no-reply@relais.test>")
        handover = Handover(None)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            mailer.send(mail(1), "<event-1@relais-des-possibles>", handover)
        assert ready.wait(5)
    assert received == [b"mail FROM:<no-reply@relais.test>\r\n"
                        b"rcpt TO:<membre1@entreprise.example>\r\ndata\r\n"]
    assert handover.received_before is None
