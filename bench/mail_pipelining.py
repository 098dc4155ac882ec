"""What SMTP pipelining (RFC 2920) saves notify and the SMTP server per mail.

    RELAIS_TEST_SLOT=N .venv/bin/python -m bench.mail_pipelining [--mails 300] [--blocks 20]

notify's ``Mailer`` sends one-line mails, with a hand-over point that says yes
(the DATA terminator written apart, as ``deliveries.send_once`` does; no
database here), to two SMTP servers in processes of their own that keep
nothing: one advertises PIPELINING (MAIL, RCPT and DATA then go in one write),
the other does not (one command, one answer, as before). Alternating blocks
of ``--mails``, so the machine's load weighs on both alike. It prints, per
mail, this process's CPU time (``time.process_time``), the server's CPU time
(``/proc/<pid>/stat``, in clock ticks: read it over many mails) and the wall
time: medians of the blocks. SMTP ports 18000 + 1000 x N + 241 and 242.
"""
import warnings

warnings.filterwarnings("ignore", message="\nEventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from bench.mail_handover import SINK  # noqa: E402
from bench.notify_latency import cpu_seconds  # noqa: E402
from services.notify.mailer import Mailer  # noqa: E402
from services.notify.templates import Mail  # noqa: E402

SLOT = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
PORT = 18000 + 1000 * SLOT + 241


class Yes:
    """A hand-over that always lets the terminator go."""

    def before_terminator(self):
        return True

    def refused(self):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--blocks", type=int, default=20)
    args = parser.parse_args()
    servers, mailers = {}, {}
    try:
        for number, name in enumerate(("one at a time", "pipelined")):
            servers[name] = subprocess.Popen(
                [sys.executable, "-c", SINK.format(port=PORT + number, pipelining=bool(number))],
                stdout=subprocess.PIPE)
            servers[name].stdout.readline()
            mailers[name] = Mailer("127.0.0.1", PORT + number, "Relais <no-reply@relais.test>")
        mail = Mail("lou@entreprise.example", "Réservation confirmée", "Bonjour,\n")

        def block(name, count):
            for _ in range(count):
                mailers[name].send(mail, f"<{uuid.uuid4()}@relais-des-possibles>", Yes())

        for name in mailers:       # warm: the connections, the server's session
            block(name, 100)
        figures = {name: ([], [], []) for name in mailers}
        for number in range(args.blocks):
            for name in (list(mailers) if number % 2 else list(reversed(mailers))):
                server_cpu = cpu_seconds(servers[name].pid)
                started, started_cpu = time.perf_counter(), time.process_time()
                block(name, args.mails)
                mine, ours, wall = figures[name]
                mine.append((time.process_time() - started_cpu) / args.mails)
                ours.append((cpu_seconds(servers[name].pid) - server_cpu) / args.mails)
                wall.append((time.perf_counter() - started) / args.mails)
        for mailer in mailers.values():
            mailer.close()
        print(f"mails            {args.blocks} blocks of {args.mails} each way, alternating")
        for name, (mine, ours, wall) in figures.items():
            print(f"{name:<14} per mail: notify CPU {statistics.median(mine) * 1e6:4.0f} us, "
                  f"server CPU {statistics.median(ours) * 1e6:4.0f} us, "
                  f"wall {statistics.median(wall) * 1e6:5.0f} us (medians of the blocks)")
        print(f"load average     {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    finally:
        for server in servers.values():
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
