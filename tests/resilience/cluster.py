"""A three-node RabbitMQ cluster of the test's own, on this machine.

Never the shared broker (127.0.0.1:5672): each node has its own name
(``relais-c1@localhost``...), AMQP port (5801..), distribution port
(25801..), data and log directories, Erlang cookie (``$HOME`` is the
cluster's temporary directory) and environment file (an empty one, so the
machine's ``/etc/rabbitmq/rabbitmq-env.conf`` does not rename the nodes).
Only the first runs the management plugin, on its own port: the test network
sets up its vhost and users through it. ``stop`` kills every node and deletes
the directory, whatever happened before.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")   # the scripts themselves, not the
# Debian wrappers in /usr/sbin, which switch to the rabbitmq user and its cookie
AMQP_PORT, DIST_PORT, MANAGEMENT_PORT = 5800, 25800, 15800
# Erlang's schedulers spin while idle by default: three idle nodes would take
# a 2-core machine's CPU from the services.
QUIET_SCHEDULERS = "+sbwt none +sbwtdcpu none +sbwtdio none"


class Node:
    def __init__(self, number, base):
        self.number, self.name = number, f"relais-c{number}@localhost"
        self.port = AMQP_PORT + number
        self.dir = base / f"c{number}"
        self.process = None

    def env(self, base):
        return dict(
            os.environ, HOME=str(base), RABBITMQ_NODENAME=self.name,
            RABBITMQ_NODE_PORT=str(self.port), RABBITMQ_DIST_PORT=str(DIST_PORT + self.number),
            RABBITMQ_MNESIA_BASE=str(self.dir / "mnesia"), RABBITMQ_LOG_BASE=str(self.dir / "log"),
            RABBITMQ_PID_FILE=str(self.dir / "beam.pid"),
            RABBITMQ_CONFIG_FILE=str(self.dir / "rabbitmq.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.dir / "enabled_plugins"),
            RABBITMQ_CONF_ENV_FILE=str(base / "rabbitmq-env.conf"),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=QUIET_SCHEDULERS,
            ERL_EPMD_ADDRESS="127.0.0.1")

    def beam_pid(self):
        return int((self.dir / "beam.pid").read_text().strip())


class Cluster:
    def __init__(self, size=3):
        self.base = Path(tempfile.mkdtemp(prefix="relais-cluster-"))
        self.nodes = [Node(number, self.base) for number in range(1, size + 1)]
        self.killed = set()

    @property
    def management_api(self):
        return f"http://guest:guest@127.0.0.1:{MANAGEMENT_PORT + 1}/api"

    @property
    def admin_uri(self):
        """The cluster's admin, every node in the ``;`` format of RELAIS_AMQP_URI."""
        return ";".join(f"amqp://guest:guest@127.0.0.1:{node.port}/" for node in self.nodes)

    def ctl(self, node, *args, timeout=120):
        subprocess.run([str(RABBITMQ_BIN / "rabbitmqctl"), "-n", node.name, *args],
                       env=node.env(self.base), check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self):
        cookie = self.base / ".erlang.cookie"
        cookie.write_text("RELAISCLUSTERTESTCOOKIE")
        cookie.chmod(0o400)
        (self.base / "rabbitmq-env.conf").write_text("")
        for node in self.nodes:
            node.dir.mkdir()
            management = node.number == 1
            (node.dir / "enabled_plugins").write_text(
                "[rabbitmq_management]." if management else "[].")
            (node.dir / "rabbitmq.conf").write_text("\n".join([
                f"listeners.tcp.default = 127.0.0.1:{node.port}",
                "loopback_users = none",
                *([f"management.tcp.port = {MANAGEMENT_PORT + node.number}",
                   "management.tcp.ip = 127.0.0.1"] if management else []),
            ]) + "\n")
            log = open(node.dir / "server.log", "wb")
            node.process = subprocess.Popen(
                [str(RABBITMQ_BIN / "rabbitmq-server")], env=node.env(self.base),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for node in self.nodes:
            # waits for the pid file, then for the node to boot
            self.ctl(node, "wait", str(node.dir / "beam.pid"), "--timeout", "180", timeout=200)
        for node in self.nodes[1:]:
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", self.nodes[0].name)
            self.ctl(node, "start_app")
        self.wait_for_management()

    def wait_for_management(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.management_api}/overview", timeout=5).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the cluster's management API did not answer; see {self.base}")

    def kill(self, node):
        """``kill -9`` the node's Erlang VM: no goodbye to its peers or clients."""
        os.kill(node.beam_pid(), signal.SIGKILL)
        self.killed.add(node.name)

    def stop(self):
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                os.kill(node.beam_pid(), signal.SIGKILL)
            except (OSError, ValueError):
                pass   # already gone, or never wrote its pid
            try:
                os.killpg(node.process.pid, signal.SIGKILL)   # the script and its children
            except OSError:
                pass
            node.process.wait(timeout=30)
        shutil.rmtree(self.base, ignore_errors=True)
