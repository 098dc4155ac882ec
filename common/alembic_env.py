"""The body of every service's ``migrations/env.py``: online migrations only,
against the URL ``common.migrate`` put in the Alembic config."""
from alembic import context

from common.db import make_engine


def run_migrations(target_metadata):
    url = context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
