"""common.db against a real PostgreSQL: what its engines put in exceptions,
and how they notice a connection PostgreSQL dropped."""
import types

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError

from common.db import Database, make_engine, ping_after_idle
from services.identity.models import Base
from tests.integration.conftest import database_url


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
