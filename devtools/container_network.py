"""The Relais network run from the Docker image: every component (the four
services, the gateway, the web pages), their migrations and identity's
bootstrap run in containers of one image, with docker-compose.yml's hardening
(read-only root filesystem, /tmp a tmpfs, every capability dropped, no new
privileges; the image's uid 10001), against this machine's broker and database.

Containers use the host's network (the Docker engine here has no bridge), so
they listen on 127.0.0.1 on the network's own ports, like ``Network``'s
processes. The SMTP sink stays a host process: the SMTP relay production sends
through is not part of the image either.
"""
import json
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from common.migrate import SERVICES
from devtools.network import ROOT, Network
from devtools.offline_image import DOCKER

# What a component's container needs from Network.env(); the rest of the
# host's environment stays out of the containers.
PASSED_PREFIXES = ("RELAIS_", "GUNICORN_", "GATEWAY_BIND", "WEB_BIND", "PYTHONUNBUFFERED")
COMPONENTS = (*SERVICES, "gateway", "web")


def compose_hardening():
    """docker run's options for docker-compose.yml's `x-relais-hardening`."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    hardening = compose["x-relais-hardening"]
    options = ["--read-only"] if hardening.get("read_only") else []
    for path in hardening.get("tmpfs", []):
        options += ["--tmpfs", path]
    for capability in hardening.get("cap_drop", []):
        options += ["--cap-drop", capability]
    for option in hardening.get("security_opt", []):
        options += ["--security-opt", option]
    return options


@dataclass
class ContainerNetwork(Network):
    image: str = "relais:offline"

    def container_name(self, name):
        return f"{self.name}-{name}".replace("_", "-")

    def docker_run(self, name, command, env):
        passed = {key: value for key, value in env.items() if key.startswith(PASSED_PREFIXES)}
        options = [f"--env={key}={value}" for key, value in sorted(passed.items())]
        return [DOCKER, "run", "--rm", "--name", self.container_name(name), "--network", "host",
                *compose_hardening(), *options, self.image, *command]

    def prepare_databases(self):
        """Migrations and the bootstrap run from the image, as compose and k8s run them."""
        for service in SERVICES:
            self.run_once(f"migrate-{service}", ["python", "-m", "common.migrate", service],
                          dict(self.env(service)))
        self.run_once("bootstrap", ["python", "-m", "services.identity.bootstrap"],
                      dict(self.env("identity"), RELAIS_BOOTSTRAP_ADMIN_EMAIL=self.admin_email,
                           RELAIS_BOOTSTRAP_ADMIN_PASSWORD=self.admin_password))

    def run_once(self, name, command, env):
        done = subprocess.run(self.docker_run(name, command, env), capture_output=True, text=True,
                              timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed in the image:\n{done.stderr}")

    def spawn(self, name, command, env):
        if name not in COMPONENTS:
            return super().spawn(name, command, env)
        # The same commands as Network's processes, with the image's python.
        command = ["python", *command[1:]] if Path(command[0]).name.startswith("python") \
            else command
        env = dict(env, PROMETHEUS_MULTIPROC_DIR="/tmp/prometheus") if name == "gateway" else env
        return super().spawn(name, self.docker_run(name, command, env), os.environ)

    def stop_process(self, name):
        super().stop_process(name)
        self.remove_container(name)

    def stop(self):
        super().stop()
        for name in COMPONENTS:
            self.remove_container(name)

    def remove_container(self, name):
        subprocess.run([DOCKER, "rm", "-f", self.container_name(name)], capture_output=True)

    def inspect(self, name):
        out = subprocess.run([DOCKER, "inspect", self.container_name(name)], check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out)[0]


# -- the Docker engine ----------------------------------------------------------

def engine_answers():
    return subprocess.run([DOCKER, "info"], capture_output=True).returncode == 0


@contextmanager
def docker_engine(log_dir):
    """A running Docker engine: this machine's if one answers, else one started
    here (no bridge, no iptables: containers use the host's network) and stopped
    at the end."""
    if engine_answers():
        yield
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise RuntimeError("dockerd is not installed: scripts/lib.sh ensure_docker installs it")
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / "dockerd.log", "wb")
    engine = subprocess.Popen([dockerd, "--bridge=none", "--iptables=false"],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not engine_answers():
            if engine.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not start: see {log_dir / 'dockerd.log'}")
            time.sleep(0.5)
        yield
    finally:
        engine.terminate()
        try:
            engine.wait(timeout=30)
        except subprocess.TimeoutExpired:
            engine.kill()
            engine.wait()
        log.close()
