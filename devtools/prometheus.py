"""A real Prometheus for a local network (``scripts/run`` and the tests): the
Debian ``prometheus`` binary, scraping every component, the broker's own
metrics (the ``rabbitmq_prometheus`` plugin) and evaluating
``deploy/prometheus/rules.yml``, the same rules as in compose and Kubernetes.

Jobs are named as in ``deploy/prometheus/prometheus.yml`` (one per component,
``rabbitmq`` and ``rabbitmq-queues``), so the alert rules and the dashboards
work unchanged on every deployment.
"""
import shutil
import subprocess
import time
from pathlib import Path

import requests
import yaml

from common.migrate import SERVICES

ROOT = Path(__file__).resolve().parent.parent
RULES = "deploy/prometheus/rules.yml"
RABBITMQ_PROMETHEUS = "127.0.0.1:15692"
# The local cluster (trust authentication); the exporter reads every database's
# statistics from the postgres database.
POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable"


def scrape_config(network, scrape_interval="15s"):
    """The configuration for ``network`` (a devtools.network.Network)."""
    jobs = [{"job_name": "gateway",
             "static_configs": [{"targets": [f"127.0.0.1:{network.gateway_port}"]}]}]
    jobs += [{"job_name": service,
              "static_configs": [{"targets": [f"127.0.0.1:{network.service_port(service)}"]}]}
             for service in SERVICES]
    jobs += [
        {"job_name": "rabbitmq", "static_configs": [{"targets": [RABBITMQ_PROMETHEUS]}]},
        # Per-queue depth: the broker's aggregated endpoint has no queue label.
        # Only this network's vhost: the broker may host others (tests in parallel).
        {"job_name": "rabbitmq-queues", "metrics_path": "/metrics/detailed",
         "params": {"family": ["queue_coarse_metrics", "queue_consumer_count"],
                    "vhost": [network.vhost]},
         "static_configs": [{"targets": [RABBITMQ_PROMETHEUS]}]},
    ]
    if network.postgres_exporter_port:
        jobs.append({"job_name": "postgres", "static_configs": [
            {"targets": [f"127.0.0.1:{network.postgres_exporter_port}"]}]})
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval,
                   "external_labels": {"system": "relais"}},
        "rule_files": [str(ROOT / RULES)],
        "scrape_configs": jobs,
    }


def binary():
    found = shutil.which("prometheus")
    if found is None:
        raise RuntimeError("prometheus is not installed: scripts/run and scripts/test "
                           "install Debian's package (ensure_prometheus in scripts/lib.sh)")
    return found


def command(network, port, scrape_interval="15s"):
    """Write the configuration under the network's var/ and return the command."""
    folder = network.var_dir / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config(network, scrape_interval), sort_keys=False))
    return [binary(), f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=15d",
            "--web.enable-lifecycle"]


def postgres_exporter_command(port):
    found = shutil.which("prometheus-postgres-exporter")
    if found is None:
        raise RuntimeError("prometheus-postgres-exporter is not installed (ensure_prometheus "
                           "in scripts/lib.sh installs Debian's package)")
    return [found, f"--web.listen-address=127.0.0.1:{port}"]


def wait_until_ready(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/-/ready", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"Prometheus at {url} was not ready after {timeout} s")


def promtool(*args, timeout=120):
    """Run promtool; returns the CompletedProcess."""
    found = shutil.which("promtool")
    if found is None:
        raise RuntimeError("promtool is not installed (Debian's prometheus package)")
    return subprocess.run([found, *args], capture_output=True, text=True, timeout=timeout)
