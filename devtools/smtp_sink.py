"""A local SMTP sink for development and tests: it accepts every mail and keeps
it, unsent, where a person can read it.

    python -m devtools.smtp_sink [--smtp 127.0.0.1:1025] [--web 127.0.0.1:8025] [--maildir var/mail]

Each mail is a file in a Maildir (``var/mail/new/``); http://127.0.0.1:8025/
lists them and shows each one; ``/api/messages`` gives them as JSON.
(docker-compose and k8s use mailpit for the same purpose.)
"""
import argparse
import html
import json
import mailbox
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


class MaildirHandler:
    def __init__(self, maildir):
        self.maildir = maildir

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        """Advertises PIPELINING, as Postfix and Exim do by default: aiosmtpd
        reads commands line by line, so it takes them pipelined anyway, and
        notify then sends MAIL, RCPT and DATA in one write."""
        session.host_name = hostname
        responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server, session, envelope):
        mailbox.Maildir(self.maildir, create=True).add(envelope.original_content)
        return "250 Message kept"


def read_messages(maildir):
    box = mailbox.Maildir(maildir, create=True)
    messages = []
    for key in box.keys():
        with box.get_file(key) as raw:
            message = message_from_bytes(raw.read(), policy=policy.default)
        body = message.get_body(("plain",))
        messages.append({
            "id": key, "from": message["From"], "to": message["To"],
            "subject": message["Subject"], "message_id": message["Message-ID"],
            "date": message["Date"], "text": body.get_content() if body else "",
            "list_unsubscribe": message["List-Unsubscribe"],
        })
    return messages


def web_handler(maildir):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            messages = read_messages(maildir)
            if self.path.startswith("/api/messages"):
                self.answer(200, "application/json", json.dumps(messages))
                return
            rows = "".join(
                f"<article><h2>{html.escape(m['subject'] or '')}</h2><p>To: "
                f"{html.escape(m['to'] or '')}</p><pre>{html.escape(m['text'])}</pre></article>"
                for m in messages)
            self.answer(200, "text/html; charset=utf-8",
                        f"<!doctype html><title>Relais mail sink</title><h1>{len(messages)} "
                        f"mail(s)</h1>{rows}")

        def answer(self, status, content_type, text):
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    return Handler


def host_port(value):
    host, _, port = value.rpartition(":")
    return host, int(port)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smtp", default="127.0.0.1:1025")
    parser.add_argument("--web", default="127.0.0.1:8025")
    parser.add_argument("--maildir", default="var/mail")
    args = parser.parse_args()
    smtp_host, smtp_port = host_port(args.smtp)
    controller = Controller(MaildirHandler(args.maildir), hostname=smtp_host, port=smtp_port)
    controller.start()
    web = ThreadingHTTPServer(host_port(args.web), web_handler(args.maildir))
    print(f"SMTP sink on {args.smtp}, mails in {args.maildir}, readable at http://{args.web}/",
          flush=True)
    try:
        web.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
