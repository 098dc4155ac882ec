"""Sending mail over SMTP (a nameko dependency).

Two things make a mail cheap here, measured by ``bench.e2e_booking``:

- **Connections are kept and reused.** Opening one per mail (TCP, greeting,
  EHLO, QUIT) cost notify and the SMTP server more than the mail itself. Idle
  connections wait in a small pool, one per concurrent worker at most; one idle
  for longer than ``IDLE_SECONDS`` is closed rather than trusted.
- **The message is written as bytes**, not built through ``EmailMessage``,
  whose default policy parses every header back through ``email.headerregistry``.
  The result is what ``EmailMessage`` sent before: the same headers, a UTF-8
  plain-text body in 8bit, an RFC 2047 encoded Subject when it is not ASCII;
  the HTML alternative and attachments are base64 parts (``render``).

Nothing is lost or doubled by the reuse: a pooled connection the server closed
meanwhile fails on the first command (``MAIL FROM``), before any mail was
handed over, and only then is the mail tried again on a new connection. A
failure once ``DATA`` has started is raised, as before: the caller's
transaction rolls back and the event is retried with the same Message-ID.
"""
import base64
import hashlib
import smtplib
import time
from email.utils import formatdate

from nameko.extensions import DependencyProvider

IDLE_SECONDS = 30.0
TIMEOUT_SECONDS = 10


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
    """The message as bytes, ready for ``DATA`` (smtplib fixes line ends and dots).

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


class _Stale(Exception):
    """A pooled connection turned out closed before the mail was handed over."""


class Mailer:
    def __init__(self, host, port, sender, max_idle=10, idle_seconds=IDLE_SECONDS):
        self.host, self.port, self.sender = host, port, sender
        self.max_idle, self.idle_seconds = max_idle, idle_seconds
        self._idle = []            # [(smtp, returned_at)], most recently used last
        self.opened = 0            # connections opened so far (tests, metrics)

    def send(self, mail, message_id):
        """``message_id`` is derived from the event, so that a mail re-sent after
        a crash carries the same Message-ID and mail clients can fold the two."""
        message = render(self.sender, mail, message_id)
        smtp = self._checkout()
        if smtp is not None:
            try:
                self._deliver(smtp, mail.to, message, reused=True)
                self._checkin(smtp)
                return
            except _Stale:
                self._discard(smtp)   # closed by the server while idle: nothing sent
        smtp = self._connect()
        self._deliver(smtp, mail.to, message, reused=False)
        self._checkin(smtp)

    def _deliver(self, smtp, to, message, reused):
        try:
            smtp.ehlo_or_helo_if_needed()
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
            code, reply = smtp.rcpt(to)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
            code, reply = smtp.data(message)
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except BaseException:
            self._discard(smtp)   # a half-done transaction: never reuse it
            raise

    def envelope_sender(self):
        address = self.sender
        if "<" in address:
            address = address[address.rindex("<") + 1:address.rindex(">")]
        return address

    def _connect(self):
        smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)
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


class MailerProvider(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.mailer = Mailer(config["SMTP_HOST"], config["SMTP_PORT"], config["MAIL_FROM"],
                             max_idle=config.get("max_workers", 10))

    def stop(self):
        self.mailer.close()

    def kill(self):
        self.mailer.close()

    def get_dependency(self, worker_ctx):
        return self.mailer
