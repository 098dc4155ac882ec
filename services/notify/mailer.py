"""Sending mail over SMTP (a nameko dependency).

Three things make a mail cheap here, measured by ``bench.e2e_booking``:

- **Connections are kept and reused.** Opening one per mail (TCP, greeting,
  EHLO, QUIT) cost notify and the SMTP server more than the mail itself. Idle
  connections wait in a small pool, one per concurrent worker at most; one idle
  for longer than ``IDLE_SECONDS`` is closed rather than trusted.
- **The message is written as bytes**, not built through ``EmailMessage``,
  whose default policy parses every header back through ``email.headerregistry``.
  The result is what ``EmailMessage`` sent before: the same headers, a UTF-8
  plain-text body in 8bit, an RFC 2047 encoded Subject when it is not ASCII;
  the HTML alternative and attachments are base64 parts (``render``).
- **MAIL, RCPT and DATA go in one write** when the server advertises
  PIPELINING (RFC 2920: Postfix, Exim and Gmail do by default; the
  bench's and devtools' sinks say so too): one round trip where there were
  three, each answer still read and handled in order as before (a refused
  recipient raises ``SMTPRecipientsRefused`` and drops the connection, the
  DATA sent behind it refused too or aborted by the drop). A server that does
  not advertise it gets the commands one at a time.

Nothing is lost or doubled by the reuse: a pooled connection the server closed
meanwhile fails on the first command (``MAIL FROM``, or the pipelined
group's first answer), before any mail was handed over, and only then is the mail tried again on a new connection.

**A hand-over point** (``send(..., handover=...)``): ``DATA`` is cut in two, as
``smtplib.SMTP.data`` would send it: the message (dot-stuffed) first, then,
once ``handover.before_terminator()`` said yes, the final ``<CRLF>.<CRLF>``.
Until that terminator the server delivers nothing: a connection that drops
before it aborts the transaction (RFC 5321, 4.1.1.4), and that is how a mail
is held back (``HELD_BACK``: there is no ``RSET`` in the middle of ``DATA``).
After it, the server's answer decides: 250 is ``SENT``; a refusal calls
``handover.refused()`` and raises; no answer (the connection broke, a
timeout) is ``OUTCOME_UNKNOWN``: the mail most likely went, so it counts as
handed over, logged and counted (``relais_notify_mail_outcome_unknown_total``).
deliveries.py commits its delivery row there, so that a redelivered event
does not mail again. Without a ``handover`` any failure is raised, as before.
"""
import base64
import hashlib
import logging
import re
import smtplib
import socket
import time
from email.utils import formatdate

from nameko.extensions import DependencyProvider

from common import metrics

IDLE_SECONDS = 30.0
TIMEOUT_SECONDS = 10

log = logging.getLogger(__name__)

# What became of a mail given to ``Mailer.send``.
SENT = "sent"                        # the server answered 250 to the terminator
HELD_BACK = "held_back"              # the hand-over said no: the terminator never left
OUTCOME_UNKNOWN = "outcome_unknown"  # the terminator left, no answer was read

# A line starting with a dot gets another (RFC 5321, 4.5.2), as smtplib does.
_LEADING_DOT = re.compile(rb"(?m)^\.")


# An RFC 2047 encoded word holds at most 75 characters: "=?utf-8?b?" and "?="
# around 60 base64 characters, i.e. 45 bytes of UTF-8.
_WORD_BYTES = 45


def _header_value(name, value):
    """A header's value as ASCII: as is when it is ASCII, else as base64
    encoded words on folded lines (``email.header.Header`` does the same, ten
    times slower). A line break in a value would inject headers: refused."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"a {name} header may not contain a line break")
    if value.isascii():
        return value
    words, chunk, size = [], [], 0
    for char in value:
        width = len(char.encode("utf-8"))
        if size + width > _WORD_BYTES:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += width
    words.append("".join(chunk))
    return "\r\n ".join(
        "=?utf-8?b?" + base64.b64encode(word.encode("utf-8")).decode("ascii") + "?="
        for word in words)


def render(sender, mail, message_id, date=None):
    """The message as bytes with CRLF line ends, ready for ``DATA`` (which
    dot-stuffs it).

    A mail with only a text body is one ``text/plain`` part, as before. With an
    HTML alternative it is ``multipart/alternative``; with a calendar
    invitation, that invitation is also the alternative's last part (Outlook
    reads it there) and an ``invite.ics`` attachment (Gmail and Apple Mail read
    it there), inside ``multipart/mixed`` with any other attachment."""
    head = (
        f"From: {_header_value('From', sender)}\r\n"
        f"To: {_header_value('To', mail.to)}\r\n"
        f"Subject: {_header_value('Subject', mail.subject)}\r\n"
        f"Message-ID: {_header_value('Message-ID', message_id)}\r\n"
        f"Date: {date or formatdate(localtime=False, usegmt=True)}\r\n"
        + "".join(f"{name}: {_header_value(name, value)}\r\n" for name, value in mail.headers)
        + "MIME-Version: 1.0\r\n"
    )
    text = _text_part(mail.body)
    if mail.html is None and mail.calendar is None and not mail.attachments:
        return head.encode("ascii") + text
    alternative = [text]
    if mail.html is not None:
        alternative.append(_base64_part('text/html; charset="utf-8"', mail.html.encode("utf-8")))
    if mail.calendar is not None:
        alternative.append(_base64_part(mail.calendar.content_type, mail.calendar.data))
    body = _multipart("alternative", alternative, message_id, "a")
    attachments = ([mail.calendar] if mail.calendar is not None else []) + list(mail.attachments)
    if attachments:
        body = _multipart("mixed", [body] + [
            _base64_part(a.content_type, a.data, filename=a.filename) for a in attachments],
            message_id, "m")
    return head.encode("ascii") + body


def _text_part(text):
    text = text if text.endswith("\n") else text + "\n"
    return ('Content-Type: text/plain; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: 8bit\r\n\r\n").encode("ascii") + \
        text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def _base64_part(content_type, data, filename=None):
    disposition = (f'Content-Disposition: attachment; filename="{filename}"\r\n'
                   if filename else "")
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (f"Content-Type: {content_type}\r\n{disposition}"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode("ascii") + encoded


def _multipart(subtype, parts, message_id, salt):
    """Parts with a boundary derived from the Message-ID (a re-sent mail is the
    same bytes); base64 and our text never hold the "=_" it starts with."""
    boundary = "=_" + salt + hashlib.sha256(message_id.encode()).hexdigest()[:30]
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()]
    for part in parts:
        out.append(f"--{boundary}\r\n".encode() + part + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def _envelope_commands(sender, to):
    """MAIL, RCPT and DATA as one write, as smtplib would send each (a line
    break in an address would inject a command: refused, as smtplib does)."""
    commands = (f"mail FROM:{smtplib.quoteaddr(sender)}\r\n"
                f"rcpt TO:{smtplib.quoteaddr(to)}\r\ndata\r\n")
    if commands.count("\n") != 3 or commands.count("\r") != 3:
        raise ValueError("an SMTP address may not contain a line break")
    return commands


class _Stale(Exception):
    """A pooled connection turned out closed before the mail was handed over."""


class Mailer:
    def __init__(self, host, port, sender, max_idle=10, idle_seconds=IDLE_SECONDS,
                 outcome_unknown=None):
        self.host, self.port, self.sender = host, port, sender
        self.max_idle, self.idle_seconds = max_idle, idle_seconds
        self._idle = []            # [(smtp, returned_at)], most recently used last
        self.opened = 0            # connections opened so far (tests, metrics)
        self.outcome_unknown = outcome_unknown   # a Prometheus counter, or None

    def send(self, mail, message_id, handover=None):
        """``message_id`` is derived from the event, so that a mail re-sent after
        a crash carries the same Message-ID and mail clients can fold the two.
        Returns ``SENT``, or with a ``handover`` also ``HELD_BACK`` or
        ``OUTCOME_UNKNOWN`` (the module's docstring)."""
        message = render(self.sender, mail, message_id)
        smtp = self._checkout()
        if smtp is not None:
            try:
                return self._deliver(smtp, mail.to, message_id, message, handover, reused=True)
            except _Stale:
                self._discard(smtp)   # closed by the server while idle: nothing sent
        return self._deliver(self._connect(), mail.to, message_id, message, handover,
                             reused=False)

    def _deliver(self, smtp, to, message_id, message, handover, reused):
        try:
            smtp.ehlo_or_helo_if_needed()
            pipelined = smtp.has_extn("pipelining")
            if pipelined:
                # RFC 2920: MAIL, RCPT and DATA in one write, their answers
                # read in order below, each handled as if sent alone.
                smtp.send(_envelope_commands(self.envelope_sender(), to))
                code, reply = smtp.getreply()
            else:
                code, reply = smtp.mail(self.envelope_sender())
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._discard(smtp)
            if reused:
                raise _Stale() from exc
            raise
        except BaseException:
            self._discard(smtp)
            raise
        try:
            if code != 250:
                if code == 421 and reused:
                    raise _Stale()
                raise smtplib.SMTPSenderRefused(code, reply, self.envelope_sender())
            code, reply = smtp.getreply() if pipelined else smtp.rcpt(to)
            if code not in (250, 251):
                # Pipelined, the DATA already sent is refused too (no valid
                # recipient, RFC 2920 3.1); should a server answer it 354
                # anyway, dropping the connection before any terminator
                # aborts it: nothing is delivered, as without pipelining.
                raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
            outcome = self._data(smtp, message_id, message, handover, pipelined)
        except BaseException:
            self._discard(smtp)   # a half-done transaction: never reuse it
            raise
        if outcome == SENT:
            self._checkin(smtp)
        else:
            self._discard(smtp)   # held back mid-DATA, or broken: closing aborts it
        return outcome

    def _data(self, smtp, message_id, message, handover, pipelined=False):
        """``smtplib.SMTP.data`` with the hand-over point before the terminator
        (``pipelined``: the DATA command went with MAIL and RCPT, its answer
        is the next to read)."""
        code, reply = smtp.getreply() if pipelined else smtp.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        body = _LEADING_DOT.sub(b"..", message)
        smtp.send(body if body.endswith(b"\r\n") else body + b"\r\n")
        if handover is not None and not handover.before_terminator():
            return HELD_BACK
        try:
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            if handover is None:
                raise
            log.warning("no answer from the SMTP server after the terminator of %s (%s): "
                        "counted as handed over, not sent again", message_id, exc)
            if self.outcome_unknown is not None:
                self.outcome_unknown.inc()
            return OUTCOME_UNKNOWN
        if code != 250:
            if handover is not None:
                handover.refused()
            raise smtplib.SMTPDataError(code, reply)
        return SENT

    def envelope_sender(self):
        address = self.sender
        if "<" in address:
            address = address[address.rindex("<") + 1:address.rindex(">")]
        return address

    def _connect(self):
        smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)
        # The terminator is a write of its own, after the message: with Nagle's
        # algorithm it would wait for the server's delayed ACK of the message
        # (40 ms on Linux). Every other write is a whole command anyway.
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened += 1
        return smtp

    def _checkout(self):
        now = time.monotonic()
        while self._idle:
            smtp, returned_at = self._idle.pop()
            if now - returned_at < self.idle_seconds:
                return smtp
            self._quit(smtp)
        return None

    def _checkin(self, smtp):
        if len(self._idle) < self.max_idle:
            self._idle.append((smtp, time.monotonic()))
        else:
            self._quit(smtp)

    def _quit(self, smtp):
        try:
            smtp.quit()
        except Exception:  # noqa: BLE001 - it is going away either way
            self._discard(smtp)

    @staticmethod
    def _discard(smtp):
        try:
            smtp.close()
        except Exception:  # noqa: BLE001
            pass

    def close(self):
        while self._idle:
            self._quit(self._idle.pop()[0])


def mailer_for(container):
    """notify's Mailer from a container's configuration, counting its mails
    whose outcome is unknown in the container's metrics: one counter for every
    Mailer of the container (the consumers', the webhook dispatcher's)."""
    config = container.config
    outcome_unknown = metrics.for_container(container).counter(
        "relais_notify_mail_outcome_unknown_total",
        "Mails whose DATA terminator was written but whose answer was never read "
        "(connection broken, timeout): counted as handed over, not sent again.")
    return Mailer(config["SMTP_HOST"], config["SMTP_PORT"], config["MAIL_FROM"],
                  max_idle=config.get("max_workers", 10), outcome_unknown=outcome_unknown)


class MailerProvider(DependencyProvider):
    def setup(self):
        self.mailer = mailer_for(self.container)

    def stop(self):
        self.mailer.close()

    def kill(self):
        self.mailer.close()

    def get_dependency(self, worker_ctx):
        return self.mailer
