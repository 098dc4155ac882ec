"""Sending mail over SMTP (a nameko dependency)."""
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from nameko.extensions import DependencyProvider


class Mailer:
    def __init__(self, host, port, sender):
        self.host, self.port, self.sender = host, port, sender

    def send(self, mail, message_id):
        """``message_id`` is derived from the event, so that a mail re-sent after
        a crash carries the same Message-ID and mail clients can fold the two."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Message-ID"] = message_id
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message.set_content(mail.body)
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            smtp.send_message(message)


class MailerProvider(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.mailer = Mailer(config["SMTP_HOST"], config["SMTP_PORT"], config["MAIL_FROM"])

    def get_dependency(self, worker_ctx):
        return self.mailer
