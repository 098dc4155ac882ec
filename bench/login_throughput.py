"""Log-in throughput and the latency of authenticated requests, over HTTP,
through the whole network (gunicorn gateway, identity on PostgreSQL, RabbitMQ),
as ``scripts/run`` starts it but on throw-away databases and vhost.

Log-ins are argon2id verifications on purpose (about 50 ms of CPU each with
argon2-cffi's defaults): the figure says how many people can log in per second
on this machine, not how fast the code is. Successful log-ins by several users
in a loop: the lock-out is not in play.

    .venv/bin/python -m bench.login_throughput [seconds per level]
"""
import os
import statistics
import sys
import threading
import time
import uuid
from tempfile import mkdtemp

import requests

from devtools.network import Network

PASSWORD = "bench-password-2026"


def run_for(seconds, threads, work):
    latencies, failures, stop = [], [], time.monotonic() + seconds
    lock = threading.Lock()

    def loop(index):
        session = requests.Session()
        while time.monotonic() < stop:
            started = time.perf_counter()
            ok = work(session, index)
            elapsed = time.perf_counter() - started
            with lock:
                (latencies if ok else failures).append(elapsed)

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies, failures


def report(label, seconds, latencies, failures):
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] * 1e3 if latencies else float("nan")
    print(f"{label:44} {len(latencies) / seconds:8.1f}/s  median "
          f"{statistics.median(latencies) * 1e3:7.1f} ms  p99 {p99:7.1f} ms  "
          f"failures {len(failures)}")


def main(seconds):
    slot = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
    base = 29000 + 100 * slot
    network = Network(name=f"relais_bench{slot or ''}", vhost=f"relais_bench{slot or ''}",
                      gateway_port=base + 80, service_port_base=base, smtp_port=base + 25,
                      mail_web_port=base + 26, var_dir=mkdtemp(prefix="relais-bench-"),
                      admin_email="admin@bench.example", admin_password=PASSWORD,
                      gunicorn_workers=2, gunicorn_threads=8)
    from pathlib import Path
    network.var_dir = Path(network.var_dir)
    network.reset()
    network.prepare()
    network.start()
    try:
        url = network.gateway_url
        admin = requests.Session()
        token = admin.post(f"{url}/v1/auth/token", json={
            "email": network.admin_email, "password": PASSWORD}).json()["access_token"]
        admin.headers["Authorization"] = f"Bearer {token}"
        company = admin.post(f"{url}/v1/organisations", json={
            "kind": "corporate", "name": "Bench SA", "legal_name": "Bench SA",
            "siret": "55208131766522", "billing_email": "b@bench.example"}).json()
        emails = []
        for n in range(16):
            email = f"user{n}-{uuid.uuid4().hex[:6]}@bench.example"
            admin.post(f"{url}/v1/organisations/{company['id']}/users", json={
                "email": email, "full_name": f"User {n}", "password": PASSWORD,
                "roles": ["corporate_admin"]}).raise_for_status()
            emails.append(email)
        key = admin.post(f"{url}/v1/organisations/{company['id']}/api-keys", json={
            "name": "bench", "roles": ["network_ops"]})
        key = admin.post(f"{url}/v1/organisations/{company['id']}/api-keys", json={
            "name": "bench", "roles": ["corporate_admin"]}).json()["secret"] \
            if key.status_code != 201 else key.json()["secret"]
        member_token = requests.post(f"{url}/v1/auth/token", json={
            "email": emails[0], "password": PASSWORD}).json()["access_token"]

        def log_in(session, index):
            response = session.post(f"{url}/v1/auth/token", json={
                "email": emails[index % len(emails)], "password": PASSWORD}, timeout=30)
            return response.status_code == 200

        def get_with(header):
            def get(session, index):
                response = session.get(f"{url}/v1/organisations/{company['id']}",
                                       headers={"Authorization": header}, timeout=30)
                return response.status_code == 200
            return get

        print(f"{os.cpu_count()} cores; gateway: 2 gunicorn workers x 8 threads; "
              f"{seconds:g} s per line")
        for threads in (1, 4, 8):
            report(f"POST /v1/auth/token, {threads} clients", seconds,
                   *run_for(seconds, threads, log_in))
        for label, header in (("access token", f"Bearer {member_token}"),
                              ("API key (cached)", f"Bearer {key}")):
            report(f"GET /v1/organisations/{{id}}, {label}, 4 clients", seconds,
                   *run_for(seconds, 4, get_with(header)))
    finally:
        network.stop()
        network.reset()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 10)
