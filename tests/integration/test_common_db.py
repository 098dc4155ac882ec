"""common.db against a real PostgreSQL: what its engines put in exceptions."""
import types

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError

from common.db import Database
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
