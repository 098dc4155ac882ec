"""Start the whole Relais network on this machine: an SMTP sink, the four
services, the gateway and the web pages under gunicorn, each service on its own database
(created and migrated first). Used by ``scripts/run``, the end-to-end tests and
the benchmarks, so that all three run the same network the same way.
"""
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests
from sqlalchemy import create_engine, text

from common import broker_users
from common.config import DEFAULT_AMQP_URI, DEFAULT_PG, broker_nodes
from common.migrate import SERVICES, migrate
from devtools import prometheus

ROOT = Path(__file__).resolve().parent.parent
RABBIT_API = "http://guest:guest@127.0.0.1:15672/api"
# Linux gives ports from here up (ip_local_port_range, 32768-60999) to outgoing
# connections, so a port there may be taken when a network comes to listen on
# it. Throw-away networks take a range below, 100 ports per RELAIS_TEST_SLOT
# from a base of their own: the tests 28000, the benchmarks 29000, the
# dashboard pictures 30000, the screenshots 31000.
EPHEMERAL_PORTS_START = 32768


@dataclass
class Network:
    name: str = "relais"                 # database prefix: relais_booking...
    vhost: str = "/"
    gateway_port: int = 8080
    web_port: int = 8090
    web_env: dict = field(default_factory=dict)   # e.g. RELAIS_WEB_TILE_URL in tests
    service_port_base: int = 8000        # identity 8001 ... notify 8004
    smtp_port: int = 1025
    mail_web_port: int = 8025
    var_dir: Path = ROOT / "var"
    admin_email: str = "admin@relais.example"
    admin_password: str = "change-me-admin-2026"
    gunicorn_workers: int = 2
    gunicorn_threads: int = 16
    prometheus_port: int | None = None  # scripts/run: 9090; the e2e tests: their own
    prometheus_scrape_interval: str = "15s"
    postgres_exporter_port: int | None = None  # started with Prometheus
    monitoring_on_start: bool = True   # False: start_monitoring() when needed
    extra_env: dict = field(default_factory=dict)
    # The broker: its admin (one node, or a cluster's nodes joined by ";",
    # common/config.py) and its management API (tests/resilience's own cluster)
    broker_admin_uri: str = DEFAULT_AMQP_URI
    broker_api: str = RABBIT_API
    processes: dict = field(default_factory=dict)

    @property
    def gateway_url(self):
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def web_url(self):
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def mail_url(self):
        return f"http://127.0.0.1:{self.mail_web_port}"

    @property
    def prometheus_url(self):
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def maildir(self):
        return self.var_dir / "mail"

    @property
    def amqp_uri(self):
        """The broker's admin on this network's vhost (tools and benchmarks);
        components log in as their own users (``amqp_uri_of``)."""
        vhost = "/" + quote(self.vhost, safe="")
        return ";".join(node.rstrip("/") + vhost for node in broker_nodes(self.broker_admin_uri))

    @property
    def broker_user_prefix(self):
        """Broker users belong to the whole broker: each throw-away network
        has its own (``relais_e2e2-booking``); this machine's is ``relais-``."""
        return "relais-" if self.name == "relais" else f"{self.name}-"

    def amqp_uri_of(self, component):
        return broker_users.with_user(
            self.amqp_uri, broker_users.user_name(component, self.broker_user_prefix),
            broker_users.development_password(component))

    def database_url(self, service):
        return f"{DEFAULT_PG}/{self.name}_{service}"

    def service_port(self, service):
        return self.service_port_base + SERVICES.index(service) + 1

    # -- set-up ----------------------------------------------------------------

    def prepare(self):
        """Broker vhost and users, databases, migrations, signing key and first admin."""
        self.prepare_broker()
        self.prepare_databases()

    def prepare_broker(self):
        if self.vhost != "/":
            requests.put(f"{self.broker_api}/vhosts/{quote(self.vhost, safe='')}",
                         timeout=10).raise_for_status()
            requests.put(f"{self.broker_api}/permissions/{quote(self.vhost, safe='')}/guest",
                         json={"configure": ".*", "write": ".*", "read": ".*"},
                         timeout=10).raise_for_status()
        broker_users.apply(broker_users.ManagementApi(self.broker_api, auth=None), self.vhost,
                           broker_users.development_passwords(), self.broker_user_prefix)

    def prepare_databases(self):
        for service in SERVICES:
            migrate(service, self.database_url(service))
        from services.identity.bootstrap import bootstrap
        bootstrap(self.database_url("identity"), self.admin_email, self.admin_password)

    def env(self, service=None, broker_user=None):
        """A process's environment; ``service`` (or ``broker_user``: the gateway)
        logs in to the broker as its own user."""
        env = dict(os.environ, PYTHONUNBUFFERED="1",
                   RELAIS_BROKER_USER_PREFIX=self.broker_user_prefix,
                   RELAIS_SMTP_HOST="127.0.0.1", RELAIS_SMTP_PORT=str(self.smtp_port),
                   # public URLs come from configuration, never from a Host header:
                   # people's links (invitations) open the web pages, partners' URLs
                   # (SCIM locations, calendar feeds) the API
                   RELAIS_PUBLIC_URL=self.web_url, RELAIS_GATEWAY_PUBLIC_URL=self.gateway_url,
                   # the local network's webhooks may call a receiver on this machine
                   RELAIS_WEBHOOKS_ALLOW_LOOPBACK="1")
        env.pop("RELAIS_AMQP_URI", None)
        if service or broker_user:
            env["RELAIS_AMQP_URI"] = self.amqp_uri_of(service or broker_user)
        if service:
            env["RELAIS_DATABASE_URL"] = self.database_url(service)
            env["RELAIS_HTTP_ADDRESS"] = f"127.0.0.1:{self.service_port(service)}"
        env.update(self.extra_env)
        return env

    def spawn(self, name, command, env):
        log_dir = self.var_dir / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        log = open(log_dir / f"{name}.log", "wb")
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def listening_ports(self):
        """Every port this network's processes will listen on, by process."""
        ports = {"smtp-sink": self.smtp_port, "smtp-sink web": self.mail_web_port,
                 "gateway": self.gateway_port, "web": self.web_port}
        ports.update({service: self.service_port(service) for service in SERVICES})
        if self.prometheus_port and self.monitoring_on_start:
            ports["prometheus"] = self.prometheus_port
        return ports

    def refuse_busy_ports(self):
        """Fail at once, naming them, when this network's ports are taken.

        A test run killed mid-way (pytest-timeout) leaves its network's
        processes running; a new run on the same slot then saw its own gateway
        fail to bind while the tests talked, unknowingly, to the old network."""
        busy = []
        for name, port in self.listening_ports().items():
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    busy.append(f"{port} ({name})")
        if busy:
            raise RuntimeError(
                f"ports already in use on 127.0.0.1: {', '.join(busy)}. Another network "
                "holds them (a killed run's leftovers?): `ss -ltnp` names the processes; "
                "stop them, or run on another RELAIS_TEST_SLOT.")

    def start(self, ready_timeout=90):
        self.refuse_busy_ports()
        self.spawn("smtp-sink", [sys.executable, "-m", "devtools.smtp_sink",
                                 "--smtp", f"127.0.0.1:{self.smtp_port}",
                                 "--web", f"127.0.0.1:{self.mail_web_port}",
                                 "--maildir", str(self.maildir)], self.env())
        for service in SERVICES:
            self.start_service(service)
        self.start_gateway()
        self.start_web("web", self.web_port)
        self.wait_until_ready(ready_timeout)
        if self.prometheus_port and self.monitoring_on_start:
            self.start_monitoring()

    def start_web(self, name, port):
        """The web pages on ``port``; a second one (another name and port)
        shares the first one's sessions in Redis, under this network's prefix."""
        env = dict(self.env(), WEB_BIND=f"127.0.0.1:{port}", RELAIS_GATEWAY_URL=self.gateway_url,
                   RELAIS_WEB_SESSION_PREFIX=self.web_session_prefix, **self.web_env)
        self.spawn(name, [sys.executable, "-m", "gunicorn", "-c", "web/gunicorn.conf.py",
                          "web.app:app"], env)

    @property
    def web_session_prefix(self):
        return f"relais:{self.name}:web-session:"

    def start_monitoring(self):
        """Prometheus (and PostgreSQL's exporter) on this network. The e2e
        tests start it only for the tests that need it: scraping every second
        costs the other tests CPU on a 2-core machine."""
        if self.postgres_exporter_port:
            self.spawn("postgres-exporter",
                       prometheus.postgres_exporter_command(self.postgres_exporter_port),
                       dict(self.env(), DATA_SOURCE_NAME=prometheus.POSTGRES_DSN))
        self.spawn("prometheus", prometheus.command(
            self, self.prometheus_port, self.prometheus_scrape_interval), self.env())
        prometheus.wait_until_ready(self.prometheus_url)

    def stop_monitoring(self):
        for name in ("prometheus", "postgres-exporter"):
            if name in self.processes:
                self.stop_process(name)

    def start_gateway(self, name="gateway", port=None):
        """The gateway under gunicorn; a second one (bench/soak.py: replicas)
        takes another name and port."""
        gateway_env = dict(self.env(broker_user="gateway"),
                           GATEWAY_BIND=f"127.0.0.1:{port or self.gateway_port}",
                           GUNICORN_WORKERS=str(self.gunicorn_workers),
                           GUNICORN_THREADS=str(self.gunicorn_threads),
                           PROMETHEUS_MULTIPROC_DIR=str(self.var_dir / f"{name}-metrics"))
        self.spawn(name, [sys.executable, "-m", "gunicorn", "-c",
                          "gateway/gunicorn.conf.py", "gateway.app:app"], gateway_env)

    def start_service(self, service, name=None, http_port=None):
        """One process of ``service``; a replica (bench/soak.py) takes another
        name and its own HTTP port (health, readiness, metrics)."""
        env = self.env(service)
        if http_port:
            env["RELAIS_HTTP_ADDRESS"] = f"127.0.0.1:{http_port}"
        self.spawn(name or service, [sys.executable, "-m", "common.run",
                                     f"services.{service}.service"], env)

    def stop_service(self, service):
        self.stop_process(service)

    def stop_process(self, name):
        process = self.processes.pop(name)
        process.terminate()
        process.wait(timeout=15)

    def reset(self):
        """Forget everything: drop the databases and the broker vhost (queues
        included). Only for throw-away networks (tests, benchmarks)."""
        if self.vhost == "/" or self.name == "relais":
            raise ValueError("refusing to reset the development network")
        admin = create_engine(f"{DEFAULT_PG}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for service in SERVICES:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}_{service}" WITH (FORCE)'))
        admin.dispose()
        response = requests.delete(f"{self.broker_api}/vhosts/{quote(self.vhost, safe='')}",
                                   timeout=30)
        if response.status_code not in (204, 404):
            response.raise_for_status()

    @contextmanager
    def fresh(self, ready_timeout=90, drop_after=False):
        """A throw-away network from nothing: its databases and broker vhost
        dropped, prepared again and started; stopped afterwards whatever
        happens, and dropped again when ``drop_after`` (pictures: nothing of
        theirs is kept; tests keep theirs to read after a failure)."""
        self.reset()
        self.prepare()
        try:
            self.start(ready_timeout)
            yield self
        finally:
            self.stop()
            if drop_after:
                self.reset()

    def wait_until_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; "
                                       f"see {self.var_dir / 'log' / (name + '.log')}")
            try:
                last = requests.get(f"{self.gateway_url}/ready", timeout=2)
                if last.status_code == 200 and requests.get(
                        f"{self.web_url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException as exc:
                last = exc
            time.sleep(0.3)
        raise RuntimeError(f"the network was not ready after {timeout} s: {last!r} "
                           f"{getattr(last, 'text', '')}")

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for name, process in self.processes.items():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
