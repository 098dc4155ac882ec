"""common.db against a real PostgreSQL: what its engines put in exceptions,
and how they notice a connection PostgreSQL dropped."""
import threading
import time
import types

import pytest
from sqlalchemy import bindparam, event, text
from sqlalchemy.exc import DataError

from common import errors
from common.db import Database, make_engine, ping_after_idle
from services.identity.models import Base
from tests.integration.conftest import database_url, rows, unit_of_work


def test_a_failing_statement_does_not_show_its_parameters(databases):
    """A DataError's message ends in a log: SQLAlchemy must not add the
    parameters to it. (psycopg2 binds on the client, so an error PostgreSQL
    reports with a position, such as invalid input syntax, still quotes the
    statement: see the README.)"""
    provider = Database(Base)
    provider.container = types.SimpleNamespace(config={"DATABASE_URL": database_url("identity")})
    provider.setup()
    try:
        with pytest.raises(DataError) as error, provider.engine.connect() as connection:
            connection.execute(text("SELECT CAST(:hash AS text), 1 / 0"),
                               {"hash": "$argon2id$v=19$secret"})
        assert "$argon2id$v=19$secret" not in str(error.value)
        assert "hidden due to hide_parameters" in str(error.value)
    finally:
        provider.engine.dispose()



def _pings(engine, monkeypatch):
    pings = []
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping",
                        lambda dbapi_connection: pings.append(1) or real(dbapi_connection))
    return pings


def test_a_connection_in_steady_use_is_not_pinged(databases, monkeypatch):
    engine = ping_after_idle(make_engine(database_url("identity"), pool_size=1), idle_seconds=60)
    pings = _pings(engine, monkeypatch)
    try:
        for _ in range(3):
            with engine.connect() as connection:
                assert connection.execute(text("SELECT 2")).scalar() == 2
        assert pings == []
    finally:
        engine.dispose()


def test_an_idle_connection_postgresql_dropped_is_replaced_before_use(databases, monkeypatch):
    engine = ping_after_idle(make_engine(database_url("identity"), pool_size=1), idle_seconds=0)
    pings = _pings(engine, monkeypatch)
    try:
        with engine.connect() as connection:
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with databases["identity"].connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        with engine.connect() as connection:  # no error: the dead one was swapped
            assert connection.execute(text("SELECT pg_backend_pid()")).scalar() != pid
        assert pings
    finally:
        engine.dispose()


def _statements(engine):
    seen = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *args: seen.append(statement.split()[0]))
    return seen


def test_events_and_the_idempotent_response_are_written_by_one_statement_at_commit(
        identity_db, databases):
    seen = _statements(identity_db._provider.engine)
    with identity_db.unit_of_work() as uow:
        def operation():
            uow.publish("identity.user_deactivated", {"user_id": "u1"})
            uow.publish("identity.user_deactivated", {"user_id": "u2"})
            return {"done": True}
        assert uow.idempotent("scope", "key-1", {"a": 1}, operation) == {"done": True}
        assert rows(databases["identity"], "SELECT id FROM outbox") == []  # not yet
    # claim the key, then one WITH ... INSERT INTO outbox ... UPDATE idempotency_keys
    assert [s for s in seen if s not in ("BEGIN", "COMMIT")] == ["INSERT", "WITH"]
    written = rows(databases["identity"], "SELECT envelope FROM outbox ORDER BY id")
    assert [r["envelope"]["data"]["user_id"] for r in written] == ["u1", "u2"]
    (key,) = rows(databases["identity"], "SELECT response FROM idempotency_keys")
    assert key["response"] == {"done": True}
    with identity_db.unit_of_work() as uow:  # a retry gets the first answer back
        assert uow.idempotent("scope", "key-1", {"a": 1}, lambda: 1 / 0) == {"done": True}


def test_an_event_emitted_in_a_savepoint_rolled_back_is_not_written(identity_db, databases):
    with identity_db.unit_of_work() as uow:
        uow.publish("identity.user_deactivated", {"user_id": "kept"})
        with pytest.raises(ValueError):
            with uow.session.begin_nested():
                uow.publish("identity.user_deactivated", {"user_id": "dropped"})
                raise ValueError("this try is abandoned")
        with uow.session.begin_nested():
            uow.publish("identity.user_deactivated", {"user_id": "kept too"})
    written = rows(databases["identity"], "SELECT envelope FROM outbox ORDER BY id")
    assert sorted(r["envelope"]["data"]["user_id"] for r in written) == ["kept", "kept too"]


def test_a_unit_of_work_that_fails_writes_no_event(identity_db, databases):
    with pytest.raises(RuntimeError):
        with identity_db.unit_of_work() as uow:
            uow.publish("identity.user_deactivated", {"user_id": "u1"})
            raise RuntimeError("the state change failed")
    assert rows(databases["identity"], "SELECT id FROM outbox") == []


def test_a_unit_of_work_committed_by_its_caller_still_writes_its_events(identity_db, databases):
    """A timer's step run with a UnitOfWork of its own (as billing's tests do)
    commits the session itself: the queued outbox rows go with that commit."""
    from sqlalchemy.orm import Session
    from common.db import UnitOfWork
    session = Session(identity_db._provider.engine)
    uow = UnitOfWork(session, "identity", Base.metadata)
    uow.publish("identity.user_deactivated", {"user_id": "by-hand"})
    session.commit()
    session.close()
    (row,) = rows(databases["identity"], "SELECT envelope FROM outbox")
    assert row["envelope"]["data"]["user_id"] == "by-hand"


def held_elsewhere(databases, key):
    """True while another transaction holds the advisory lock on ``key``."""
    (row,) = rows(databases["identity"], "SELECT pg_try_advisory_xact_lock("
                  "hashtextextended(:key, 0)) AS free", key=key)
    return not row["free"]


def test_the_lock_given_to_idempotent_is_taken_by_the_claims_statement(identity_db, databases):
    seen = _statements(identity_db._provider.engine)
    with identity_db.unit_of_work() as uow:
        def operation():
            uow.advisory_lock("member:1")  # held already: no statement
            assert held_elsewhere(databases, "member:1")
            return {"done": True}
        assert uow.idempotent("scope", "key-1", {"a": 1}, operation,
                              lock="member:1") == {"done": True}
    # the claim and the lock (WITH claim AS (INSERT ...) SELECT ..., lock), the response
    assert [s for s in seen if s not in ("BEGIN", "COMMIT")] == ["WITH", "UPDATE"]
    assert not held_elsewhere(databases, "member:1")
    with identity_db.unit_of_work() as uow:  # a retry: the first answer, and no lock taken
        assert uow.idempotent("scope", "key-1", {"a": 1}, lambda: 1 / 0,
                              lock="member:1") == {"done": True}
        assert not held_elsewhere(databases, "member:1")


def test_an_advisory_lock_taken_in_a_savepoint_rolled_back_is_taken_again(identity_db, databases):
    with identity_db.unit_of_work() as uow:
        with pytest.raises(ValueError):
            with uow.session.begin_nested():
                uow.advisory_lock("member:1")
                raise ValueError("this try is abandoned")
        assert not held_elsewhere(databases, "member:1")  # PostgreSQL released it
        uow.advisory_lock("member:1")
        assert held_elsewhere(databases, "member:1")


def test_a_statement_written_at_commit_goes_with_the_outbox_or_fails_as_its_caller_says(
        identity_db, databases):
    """``write_at_commit``: one statement with the outbox row at commit; a
    constraint refusing it is raised as ``refusal`` says, and the event
    goes nowhere; in a savepoint, it is written at once."""
    inbox = Base.metadata.tables["inbox"]
    statement = inbox.insert().values(event_id=bindparam("c_event_id"),
                                      consumer=bindparam("c_consumer"))
    handled = {"c_event_id": "00000000-0000-4000-8000-000000000001", "c_consumer": "test"}

    def refusal(exc):
        raise errors.Conflict("handled twice", code="twice") from None
    seen = _statements(identity_db._provider.engine)
    with identity_db.unit_of_work() as uow:
        uow.publish("identity.user_deactivated", {"user_id": "u1"})
        uow.write_at_commit(statement, handled, refusal)
        assert rows(databases["identity"], "SELECT 1 FROM inbox") == []  # not yet
    assert [s for s in seen if s not in ("BEGIN", "COMMIT")] == ["WITH"]
    assert len(rows(databases["identity"], "SELECT 1 FROM inbox")) == 1
    with pytest.raises(errors.Conflict):
        with identity_db.unit_of_work() as uow:
            uow.publish("identity.user_deactivated", {"user_id": "u2"})
            uow.write_at_commit(statement, handled, refusal)
    assert len(rows(databases["identity"], "SELECT 1 FROM outbox")) == 1
    with identity_db.unit_of_work() as uow:
        with pytest.raises(errors.Conflict):
            with uow.session.begin_nested():
                uow.write_at_commit(statement, handled, refusal)  # at once
        uow.publish("identity.user_deactivated", {"user_id": "u3"})
    assert len(rows(databases["identity"], "SELECT 1 FROM outbox")) == 2
    with pytest.raises(ValueError):
        with identity_db.unit_of_work() as uow:
            uow.write_at_commit(statement, {"event_id": "clash"}, refusal)


def test_a_request_waiting_on_its_keys_claim_holds_no_lock_the_first_may_want(databases):
    """Why the claim's statement takes the lock after its insert: a second
    request with the first's key (another payload, so another lock) waits on
    the first's claim holding nothing, so the first can still take that
    lock, commit, and the second hears that the key was reused. Taking the
    lock first, the second would hold what the first then waits for: a
    deadlock, which PostgreSQL breaks by failing one of them."""
    engine = databases["identity"]
    outcomes = {}

    def waiting_on_a_lock():
        return rows(engine, "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")

    def second():
        try:
            with unit_of_work(engine, "identity", Base.metadata) as uow:
                outcomes["second"] = uow.idempotent("scope", "key-1", {"a": 2}, lambda: 2,
                                                    lock="lock-of-2")
        except errors.RelaisError as refusal:
            outcomes["second"] = refusal.code
        except Exception as exc:  # lock first: OperationalError, deadlock detected
            outcomes["second"] = type(exc).__name__

    other = threading.Thread(target=second)
    with unit_of_work(engine, "identity", Base.metadata) as uow:
        def operation():
            other.start()
            deadline = time.monotonic() + 10
            while not waiting_on_a_lock() and time.monotonic() < deadline:
                time.sleep(0.05)
            outcomes["waited"] = bool(waiting_on_a_lock())
            uow.advisory_lock("lock-of-2")  # free: the waiting request took none
            return 1
        outcomes["first"] = uow.idempotent("scope", "key-1", {"a": 1}, operation,
                                           lock="lock-of-1")
    other.join(10)
    assert outcomes == {"waited": True, "first": 1, "second": "idempotency-key-reused"}
