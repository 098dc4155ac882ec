"""notify's Mailer keeps its SMTP connections open between mails: against a
real SMTP server (aiosmtpd), a reused connection the server closed meanwhile
is reopened without losing or doubling a mail."""
import email
import smtplib
import socket
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller

from services.notify.mailer import Mailer
from services.notify.templates import Mail


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class CountingSink:
    """Keeps every mail and counts the SMTP sessions (one EHLO each)."""

    def __init__(self, refusals=0):
        self.received, self.sessions, self.refusals = [], 0, refusals

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        if self.refusals > 0:
            self.refusals -= 1
            return "451 Requested action aborted: try again later"
        self.received.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def sink():
    controllers = []

    def start(**smtp_options):
        handler = CountingSink(smtp_options.pop("refusals", 0))
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                                **smtp_options)
        controller.start()
        controllers.append(controller)
        return handler, controller.port

    yield start
    for controller in controllers:
        controller.stop()


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
