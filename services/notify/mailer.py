"""Sending mail over SMTP (a nameko dependency).

Two things make a mail cheap here, measured by ``bench.e2e_booking``:

- **Connections are kept and reused.** Opening one per mail (TCP, greeting,
  EHLO, QUIT) cost notify and the SMTP server more than the mail itself. Idle
  connections wait in a small pool, one per concurrent worker at most; one idle
  for longer than ``IDLE_SECONDS`` is closed rather than trusted.
- **The message is written as bytes**, not built through ``EmailMessage``,
  whose default policy parses every header back through ``email.headerregistry``.
  The result is what ``EmailMessage`` sent before: the same headers, a UTF-8
  plain-text body in 8bit, an RFC 2047 encoded Subject when it is not ASCII.

Nothing is lost or doubled by the reuse: a pooled connection the server closed
meanwhile fails on the first command (``MAIL FROM``), before any mail was
handed over, and only then is the mail tried again on a new connection. A
failure once ``DATA`` has started is raised, as before: the caller's
transaction rolls back and the event is retried with the same Message-ID.
"""
import base64
import re
import secrets
import smtplib
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail (an invoice's PDF)."""
    filename: str
    media_type: str
    content: bytes


def render(sender, mail, message_id, date=None, attachments=()):
    """The message as bytes, ready for ``DATA`` (smtplib fixes line ends and dots).
    With attachments it is multipart/mixed: the text first, then each file in base64."""
    body = mail.body if mail.body.endswith("\n") else mail.body + "\n"
    text = body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    head = (
        f"From: {_header_value('From', sender)}\r\n"
        f"To: {_header_value('To', mail.to)}\r\n"
        f"Subject: {_header_value('Subject', mail.subject)}\r\n"
        f"Message-ID: {_header_value('Message-ID', message_id)}\r\n"
        f"Date: {date or formatdate(localtime=False, usegmt=True)}\r\n"
        "MIME-Version: 1.0\r\n"
    )
    if not attachments:
        return (head + _TEXT_PART).encode("ascii") + text
    # Base64 and the text's own lines cannot hold this line: a fresh random token.
    boundary = f"=_relais_{secrets.token_hex(16)}"
    parts = [f'{head}Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
             f"--{boundary}\r\n{_TEXT_PART}".encode("ascii") + text]
    for attachment in attachments:
        filename = _SAFE_FILENAME.sub("_", attachment.filename)
        content = base64.encodebytes(attachment.content).replace(b"\n", b"\r\n")
        parts.append(
            (f"\r\n--{boundary}\r\n"
             f'Content-Type: {attachment.media_type}; name="{filename}"\r\n'
             f'Content-Disposition: attachment; filename="{filename}"\r\n'
             "Content-Transfer-Encoding: base64\r\n\r\n").encode("ascii") + content)
    parts.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    return b"".join(parts)


_TEXT_PART = ('Content-Type: text/plain; charset="utf-8"\r\n'
              "Content-Transfer-Encoding: 8bit\r\n\r\n")
_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


class _Stale(Exception):
    """A pooled connection turned out closed before the mail was handed over."""


class Mailer:
    def __init__(self, host, port, sender, max_idle=10, idle_seconds=IDLE_SECONDS):
        self.host, self.port, self.sender = host, port, sender
        self.max_idle, self.idle_seconds = max_idle, idle_seconds
        self._idle = []            # [(smtp, returned_at)], most recently used last
        self.opened = 0            # connections opened so far (tests, metrics)

    def send(self, mail, message_id, attachments=()):
        """``message_id`` is derived from the event, so that a mail re-sent after
        a crash carries the same Message-ID and mail clients can fold the two."""
        message = render(self.sender, mail, message_id, attachments=attachments)
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
            code, reply = smtp.mail(self._envelope_sender())
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
                raise smtplib.SMTPSenderRefused(code, reply, self._envelope_sender())
            code, reply = smtp.rcpt(to)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
            code, reply = smtp.data(message)
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except BaseException:
            self._discard(smtp)   # a half-done transaction: never reuse it
            raise

    def _envelope_sender(self):
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
