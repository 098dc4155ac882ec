"""The webhook dispatcher against notify's real database: successful attempts
recorded in batches (webhooks.record_successes, the recorder), and a backlog
larger than the pool claimed as slots free up, not on the timer's ticks."""
import types
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from common.events import make_envelope
from contracts import events
from services.notify import webhooks
from services.notify.webhook_dispatcher import WebhookDispatcher
from tests.integration.conftest import database_url, rows, wait_for
from tests.integration.test_reliable_events import confirmed_booking
from tests.integration.test_webhook_keep_alive import receivers  # noqa: F401 (fixture)

SETTINGS = webhooks.Settings(allow_loopback=True)
AT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def endpoint(conn, failing_since=None, url="http://127.0.0.1:1/hook"):
    endpoint_id = str(uuid.uuid4())
    conn.execute(text(
        "INSERT INTO webhook_endpoints (id, organisation_id, scope, relay_ids, created_by, url,"
        " event_types, description, enabled, failing_since) VALUES (:id, :org, 'network', '[]',"
        " :org, :url, '[\"booking.*\"]', 'test', true, :failing)"),
        {"id": endpoint_id, "org": str(uuid.uuid4()), "failing": failing_since, "url": url})
    conn.execute(text("INSERT INTO webhook_secrets (id, endpoint_id, secret) VALUES "
                      "(:id, :endpoint, :secret)"),
                 {"id": str(uuid.uuid4()), "endpoint": endpoint_id,
                  "secret": "whsec_" + "ZGlzcGF0Y2gtc2VjcmV0LWRpc3BhdGNoLXNlY3JldDE="})
    return endpoint_id


def delivery(conn, endpoint_id, due=None):
    """Pending, tried once; due at ``due`` (else long ago, at ``AT``)."""
    event_id = str(uuid.uuid4())
    delivery_id = webhooks.delivery_id_for(endpoint_id, event_id)
    conn.execute(text(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, occurred_at,"
        " payload, status, attempts, next_attempt_at) VALUES (:id, :endpoint, :event,"
        " 'booking.confirmed', :at, '{}', 'pending', 1, :due)"),
        {"id": delivery_id, "endpoint": endpoint_id, "event": event_id, "at": AT,
         "due": due or AT})
    return delivery_id


def success(number):
    return {"attempted_at": AT + timedelta(seconds=number), "status_code": 200 + number,
            "error": None, "latency_ms": 10 + number, "excerpt": f"ok {number}"}


@pytest.fixture
def notify_db(databases):
    return databases["notify"]


@pytest.mark.parametrize("alone", [False, True], ids=["in-a-transaction", "alone"])
def test_successes_are_recorded_by_one_statement_and_a_failing_endpoint_recovers(
        notify_db, alone):
    """In a session's transaction (a failure's record) or committed on its
    own (the recorder's batches: no BEGIN nor COMMIT), the same rows."""
    with notify_db.begin() as conn:
        failing = endpoint(conn, failing_since=AT - timedelta(days=1))
        fine = endpoint(conn)
        recorded = [delivery(conn, failing), delivery(conn, fine), delivery(conn, fine)]
    gone = webhooks.delivery_id_for(str(uuid.uuid4()), str(uuid.uuid4()))  # endpoint deleted
    succeeded = [(delivery_id, success(n)) for n, delivery_id in enumerate(recorded + [gone])]

    if alone:
        webhooks.record_successes_alone(notify_db, succeeded, SETTINGS)
    else:
        with Session(notify_db) as session, session.begin():
            webhooks.record_successes(session, succeeded, SETTINGS)

    done = {row["id"]: row for row in rows(
        notify_db, "SELECT id, status, attempts, last_status_code FROM webhook_deliveries")}
    assert [(done[d]["status"], done[d]["attempts"], done[d]["last_status_code"])
            for d in recorded] == [("succeeded", 2, 200), ("succeeded", 2, 201),
                                   ("succeeded", 2, 202)]
    logged = rows(notify_db, "SELECT delivery_id, attempted_at, status_code, latency_ms,"
                             " response_excerpt, error FROM webhook_attempts ORDER BY status_code")
    assert [(a["delivery_id"], a["status_code"], a["latency_ms"], a["response_excerpt"])
            for a in logged] == [(d, 200 + n, 10 + n, f"ok {n}") for n, d in enumerate(recorded)]
    assert logged[2]["attempted_at"] == AT + timedelta(seconds=2)
    assert all(a["error"] is None for a in logged)
    assert [row["failing_since"] for row in rows(
        notify_db, "SELECT failing_since FROM webhook_endpoints")] == [None, None]


def recorder():
    dispatcher = WebhookDispatcher()
    dispatcher.container = types.SimpleNamespace(
        config={"DATABASE_URL": database_url("notify"), "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": 1, "MAIL_FROM": "relais@example.org"},
        service_name="notify")
    dispatcher.setup()
    dispatcher.settings = SETTINGS
    return dispatcher


def test_the_recorder_writes_what_succeeded_and_each_apart_when_a_batch_fails(
        notify_db, monkeypatch):
    with notify_db.begin() as conn:
        target = endpoint(conn)
        sent = [delivery(conn, target) for _ in range(4)]
    dispatcher = recorder()
    batches = []
    real = webhooks.record_successes

    def record_batch(engine, succeeded, settings):
        batches.append(len(succeeded))
        raise RuntimeError("the batch fails")

    def record_successes(session, succeeded, settings):   # each apart, in a transaction
        batches.append(len(succeeded))
        real(session, succeeded, settings)

    monkeypatch.setattr(webhooks, "record_successes_alone", record_batch)
    monkeypatch.setattr(webhooks, "record_successes", record_successes)
    for number, delivery_id in enumerate(sent):
        dispatcher.succeeded.put((delivery_id, success(number)))
    dispatcher.succeeded.put(None)
    try:
        dispatcher._record_successes()       # returns once it met the stop mark
    finally:
        dispatcher.engine.dispose()

    assert batches == [4, 1, 1, 1, 1]
    assert [row["status"] for row in rows(
        notify_db, "SELECT status FROM webhook_deliveries")] == ["succeeded"] * 4
    assert rows(notify_db, "SELECT count(*) AS n FROM webhook_attempts")[0]["n"] == 4


def test_a_backlog_larger_than_the_pool_is_claimed_as_slots_free_up(notify_db, receivers):  # noqa: F811
    """No timer runs here: one wake-up, then each finished send claims more."""
    target = receivers()
    with notify_db.begin() as conn:
        hooks = [endpoint(conn, url=f"http://127.0.0.1:{target.port}/hook/{n}") for n in range(10)]
        for hook in hooks:
            delivery(conn, hook)
    dispatcher = recorder()
    dispatcher.pool = eventlet.GreenPool(2)
    dispatcher._running = True
    waker = eventlet.spawn(dispatcher._send_on_news)
    try:
        dispatcher.wake()
        assert wait_for(lambda: len(target.connections) == 10, timeout=10)
    finally:
        dispatcher._running = False
        dispatcher._news.set()
        waker.wait()
        dispatcher.pool.waitall()
        dispatcher.sessions.close()
        dispatcher.engine.dispose()
    assert sorted(path for _, path in target.connections) == sorted(
        f"/hook/{n}" for n in range(10))


def test_an_event_is_offered_to_each_endpoint_by_one_statement_with_the_leased_ones_secrets(
        notify_db):
    now = datetime.now(timezone.utc)
    with notify_db.begin() as conn:
        rotated, other = endpoint(conn), endpoint(conn)
        for secret, expires_at in (("whsec_b2xk", now + timedelta(hours=1)),
                                   ("whsec_Z29uZQ==", now - timedelta(hours=1))):
            conn.execute(text("INSERT INTO webhook_secrets (id, endpoint_id, secret, created_at,"
                              " expires_at) VALUES (:id, :endpoint, :secret, :created, :expires)"),
                         {"id": str(uuid.uuid4()), "endpoint": rotated, "secret": secret,
                          "created": now - timedelta(days=1), "expires": expires_at})
    envelope = make_envelope("booking", "booking.confirmed", confirmed_booking())
    settings = webhooks.Settings(lease=timedelta(minutes=2))

    with Session(notify_db) as session, session.begin():
        endpoints = [row.id for row in session.execute(webhooks._ENABLED_ENDPOINTS)]
        offered = webhooks.fan_out(types.SimpleNamespace(session=session), envelope,
                                   events.load(envelope), lease=1, settings=settings)

    (leased,) = offered.leased
    assert offered.due == 1 and leased["endpoint_id"] == endpoints[0]
    current = "whsec_" + "ZGlzcGF0Y2gtc2VjcmV0LWRpc3BhdGNoLXNlY3JldDE="
    assert leased["secrets"] == ([current, "whsec_b2xk"] if leased["endpoint_id"] == rotated
                                 else [current])
    assert leased["payload"]["event_id"] == envelope["event_id"]
    written = {row["endpoint_id"]: row for row in rows(
        notify_db, "SELECT id, endpoint_id::text, event_id::text, payload, status, attempts,"
                   " next_attempt_at - now() AS due_in FROM webhook_deliveries")}
    assert set(written) == {rotated, other}
    for endpoint_id, row in written.items():
        assert row["id"] == webhooks.delivery_id_for(endpoint_id, envelope["event_id"])
        assert (row["event_id"], row["status"], row["attempts"]) == (
            envelope["event_id"], "pending", 0)
        assert row["payload"] == leased["payload"]
    assert written[leased["endpoint_id"]]["due_in"] > timedelta(minutes=1)
    assert [row["due_in"] <= timedelta(0) for endpoint_id, row in written.items()
            if endpoint_id != leased["endpoint_id"]] == [True]


def test_a_claim_leases_what_is_due_with_each_endpoint_url_and_valid_secrets(notify_db):
    now = datetime.now(timezone.utc)
    with notify_db.begin() as conn:
        rotated = endpoint(conn, url="http://127.0.0.1:1/rotated")
        conn.execute(text("INSERT INTO webhook_secrets (id, endpoint_id, secret, created_at,"
                          " expires_at) VALUES (:id, :endpoint, 'whsec_b2xk', :created, :expires),"
                          " (:id2, :endpoint, 'whsec_Z29uZQ==', :created, :expired)"),
                     {"id": str(uuid.uuid4()), "id2": str(uuid.uuid4()), "endpoint": rotated,
                      "created": now - timedelta(days=1), "expires": now + timedelta(hours=1),
                      "expired": now - timedelta(hours=1)})
        off = endpoint(conn)
        conn.execute(text("UPDATE webhook_endpoints SET enabled = false WHERE id = :id"),
                     {"id": off})
        due = delivery(conn, rotated)
        delivery(conn, rotated, due=now + timedelta(hours=1))     # not yet
        delivery(conn, off)                                        # endpoint disabled
    settings = webhooks.Settings(lease=timedelta(minutes=2))

    with Session(notify_db) as session, session.begin():
        (claimed,) = webhooks.claim_due(session, now, settings, limit=10)
    with Session(notify_db) as session, session.begin():
        again = webhooks.claim_due(session, now, settings, limit=10)

    assert (claimed["id"], claimed["endpoint_id"], claimed["url"], claimed["payload"]) == (
        due, rotated, "http://127.0.0.1:1/rotated", {})
    assert claimed["secrets"] == ["whsec_" + "ZGlzcGF0Y2gtc2VjcmV0LWRpc3BhdGNoLXNlY3JldDE=",
                                  "whsec_b2xk"]
    assert again == []                      # leased: not claimed twice
    (lease,) = rows(notify_db, "SELECT next_attempt_at FROM webhook_deliveries WHERE id = :id",
                    id=due)
    assert lease["next_attempt_at"] == now + settings.lease
