"""What notify's CPU pays per mail for sending it once (the hand-over point
before the SMTP terminator, services/notify/deliveries.py), in-process.

    RELAIS_TEST_SLOT=N .venv/bin/python -m bench.mail_handover [--mails 200] [--blocks 20]

Each mail is what a ``booking.confirmed`` handler does around the SMTP
transaction: a unit of work with its inbox mark, the send, the commit; a
one-line ``Mail`` (the template's cost is not the point). Two ways, in
alternating blocks of ``--mails`` so that the machine's load weighs on both
alike: ``before``, the former ``deliveries.send`` (the delivery row inserted in
the handler's transaction, then ``mailer.send`` with no hand-over); ``after``,
today's ``deliveries.send`` (the row committed on its own just before the
terminator, then marked sent in the handler's transaction). The process is
patched as a service is (eventlet, psycogreen); PostgreSQL is the machine's,
the SMTP server a separate process that keeps nothing (its CPU is not
counted). It prints this process's CPU time (``time.process_time``) and the
wall time per mail of each way: the median of the blocks. Database
``relais_bench<N>_mailhandover``, SMTP port 18000 + 1000 x N + 240.
"""
import warnings

warnings.filterwarnings("ignore", message="\nEventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

from psycogreen.eventlet import patch_psycopg  # noqa: E402

patch_psycopg()

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from common.config import DEFAULT_PG  # noqa: E402
from common.db import UnitOfWork, make_engine, new_id  # noqa: E402
from common.migrate import migrate  # noqa: E402
from services.notify import deliveries  # noqa: E402
from services.notify.mailer import Mailer  # noqa: E402
from services.notify.models import Base, Delivery  # noqa: E402
from services.notify.templates import Mail  # noqa: E402

SLOT = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
NAME = f"relais_bench{SLOT or ''}_mailhandover"
SMTP_PORT = 18000 + 1000 * SLOT + 240

# An SMTP server that keeps nothing (``pipelining``: it advertises PIPELINING,
# bench.mail_pipelining).
SINK = """
import asyncio
from aiosmtpd.controller import Controller
class Forget:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if {pipelining}:
            responses.insert(-1, "250-PIPELINING")
        return responses
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
controller = Controller(Forget(), hostname="127.0.0.1", port={port})
controller.start()
print("ready", flush=True)
asyncio.new_event_loop().run_until_complete(asyncio.sleep(10 ** 6))
"""


def fresh_database():
    admin = create_engine(f"{DEFAULT_PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
    admin.dispose()
    url = f"{DEFAULT_PG}/{NAME}"
    migrate("notify", url)
    return make_engine(url.replace("postgresql://", "postgresql+psycopg2://"), pool_size=4)


def before(session, mailer, event, mail):
    """The former deliveries.send (up to 22ac40c)."""
    message_id = deliveries.message_id_for(event)
    session.execute(Delivery.__table__.insert().values(
        id=new_id(), event_id=event["event_id"], event_type=event["type"], channel="email",
        recipient=mail.to, subject=mail.subject, message_id=message_id))
    mailer.send(mail, message_id)


def after(session, mailer, event, mail):
    deliveries.send_once(session, mailer, event["event_id"], event["type"], mail,
                         deliveries.message_id_for(event))


def one_mail(engine, mailer, way):
    event = {"event_id": str(uuid.uuid4()), "type": "booking.confirmed"}
    with Session(engine) as session:
        uow = UnitOfWork(session, "notify", Base.metadata)
        uow.mark_handled(event, "notify.on_booking_confirmed")
        way(session, mailer, event, Mail("lou@entreprise.example", "Réservation confirmée",
                                         "Bonjour,\n"))
        session.commit()
        uow.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--blocks", type=int, default=20)
    args = parser.parse_args()
    sink = subprocess.Popen([sys.executable, "-c", SINK.format(port=SMTP_PORT, pipelining=False)],
                            stdout=subprocess.PIPE)
    try:
        sink.stdout.readline()
        engine = fresh_database()
        mailer = Mailer("127.0.0.1", SMTP_PORT, "Relais <no-reply@relais.test>")
        ways = {"before": before, "after": after}
        for way in ways.values():                  # warm: pools, statement caches
            for _ in range(100):
                one_mail(engine, mailer, way)
        figures = {name: ([], []) for name in ways}
        for block in range(args.blocks):
            for name, way in (ways.items() if block % 2 else reversed(ways.items())):
                started, started_cpu = time.perf_counter(), time.process_time()
                for _ in range(args.mails):
                    one_mail(engine, mailer, way)
                figures[name][0].append((time.process_time() - started_cpu) / args.mails)
                figures[name][1].append((time.perf_counter() - started) / args.mails)
        mailer.close()
        engine.dispose()
        print(f"mails                 {args.blocks} blocks of {args.mails} each way, alternating")
        for name, (cpu, wall) in figures.items():
            print(f"{name:<7} per mail     CPU {statistics.median(cpu) * 1e6:5.0f} us, "
                  f"wall {statistics.median(wall) * 1e6:6.0f} us (medians of the blocks)")
        print(f"load average          {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    finally:
        sink.kill()
        sink.wait()


if __name__ == "__main__":
    main()
