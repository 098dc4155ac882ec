"""Write a new Alembic revision for a service by comparing its models with a
scratch database at head: ``python -m devtools.autogen booking "add closures"``."""
import sys

from alembic import command
from sqlalchemy import create_engine, text

from common.config import DEFAULT_PG
from common.migrate import alembic_config, migrate


def main(service, message):
    scratch = f"relais_autogen_{service}"
    admin = create_engine(f"{DEFAULT_PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
    url = f"{DEFAULT_PG}/{scratch}"
    migrate(service, url)
    command.revision(alembic_config(service, url), message=message, autogenerate=True)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{scratch}" WITH (FORCE)'))


if __name__ == "__main__":
    main(*sys.argv[1:3])
