"""A three-node RabbitMQ cluster loses a node mid-run: nothing is lost or doubled.

The whole network (tests/e2e's, as processes) runs on a cluster of its own
(tests/resilience/cluster.py, never the shared broker) with quorum queues and
every node in RELAIS_AMQP_URI. Members book a few hundred half-days over HTTP
while the first node, where every connection and every queue's leader start,
is killed with SIGKILL. A request caught by the loss is answered 502/503/504
and retried with its Idempotency-Key, as a client would; at the end each
booking has exactly one usage line and one confirmation mail.

On a 2-core machine: one retry step (RETRY_DELAYS_MS), so each event handler
has three quorum queues, not five.
"""
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, text

from devtools.api_client import Client, book, new_member, relay_desks_and_company
from devtools.dates import open_days
from devtools.network import Network
from devtools.smtp_sink import read_messages
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.resilience.cluster import Cluster

pytestmark = pytest.mark.timeout(1200)

MEMBERS, DAYS = 25, 6                 # 25 members x 6 days x 2 half-days
BOOKINGS = MEMBERS * DAYS * 2         # 300
KILL_AFTER = BOOKINGS // 3            # bookings answered before the node dies


@pytest.fixture(scope="module")
def cluster():
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def network(cluster, tmp_path_factory):
    slot = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
    base = 28000 + 100 * slot   # the e2e network's range, on ports it leaves free
    network = Network(
        name=f"relais_res{slot}", vhost=f"relais_res{slot}", service_port_base=base + 10,
        gateway_port=base + 20, web_port=base + 21, smtp_port=base + 22,
        mail_web_port=base + 23, var_dir=tmp_path_factory.mktemp("network"),
        admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD,
        gunicorn_workers=2, gunicorn_threads=4,
        broker_admin_uri=cluster.admin_uri, broker_api=cluster.management_api,
        extra_env={"RELAIS_QUEUE_TYPE": "quorum", "RELAIS_RETRY_DELAYS_MS": "1000",
                   "RELAIS_RPC_TIMEOUT_SECONDS": "5", "RELAIS_DAILY_MAILS": "0",
                   "RELAIS_LIMITS_PREFIX": f"relais:res{slot}:{uuid.uuid4().hex}:"})
    network.reset()
    network.prepare()
    try:
        started = time.monotonic()
        network.start(ready_timeout=600)   # ~175 quorum queues to declare on 3 nodes
        print(f"\nnetwork ready on the cluster in {time.monotonic() - started:.0f} s")
        yield network
    finally:
        network.stop()


def count(network, service, sql, **params):
    engine = create_engine(network.database_url(service))
    with engine.connect() as conn:
        found = conn.execute(text(sql), params).scalar()
    engine.dispose()
    return found


def test_losing_a_node_loses_and_doubles_nothing(cluster, network):
    admin = Client(network.gateway_url).login(ADMIN_EMAIL, ADMIN_PASSWORD)
    desks, company_id = relay_desks_and_company(admin, MEMBERS)
    members = [new_member(admin, network, company_id, "mutuelle.example")
               for _ in range(MEMBERS)]
    addresses = {user["email"] for user, _ in members}
    mails_before = len(read_messages(network.maildir))

    requests_to_make = [(number, {"space_id": desks[number], "date": day, "slot": slot})
                        for day in open_days(DAYS) for slot in ("morning", "afternoon")
                        for number in range(MEMBERS)]
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(book, members[number][1], request, f"cluster-{index}")
                   for index, (number, request) in enumerate(requests_to_make)]
        while sum(future.done() for future in futures) < KILL_AFTER:
            time.sleep(0.1)
        killed_at = time.monotonic() - started
        cluster.kill(cluster.nodes[0])
        answers = [future.result() for future in futures]
    booked_in = time.monotonic() - started

    refused = [(status, body) for status, body, _ in answers if status != 201]
    assert not refused, refused[:5]
    booking_ids = {body["id"] for _, body, _ in answers}
    assert len(booking_ids) == BOOKINGS   # a retry never booked twice

    def usage_lines():
        return count(network, "billing", "SELECT count(*) FROM usage_lines")
    assert_eventually(lambda: usage_lines() >= BOOKINGS, "usage lines")
    assert_eventually(lambda: len([m for m in read_messages(network.maildir)
                                   if m["to"] in addresses]) >= BOOKINGS, "mails")
    time.sleep(5)   # a late duplicate would show now
    mails = [m for m in read_messages(network.maildir) if m["to"] in addresses]
    lines = usage_lines()
    distinct_lines = count(network, "billing", "SELECT count(DISTINCT booking_id) FROM usage_lines")
    retried = sum(tries > 1 for _, _, tries in answers)
    print(f"\ncluster: {BOOKINGS} bookings in {booked_in:.0f} s, node {cluster.nodes[0].name} "
          f"killed at {killed_at:.1f} s (after {KILL_AFTER} answers), {retried} retried; "
          f"{lines} usage lines ({distinct_lines} bookings), {len(mails)} mails "
          f"({len({m['message_id'] for m in mails})} distinct), {mails_before} before")
    assert (lines, distinct_lines) == (BOOKINGS, BOOKINGS)
    assert len(mails) == BOOKINGS
    assert len({m["message_id"] for m in mails}) == BOOKINGS


def assert_eventually(predicate, what, timeout=180):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not all there after {timeout} s"
        time.sleep(1)
