"""Create a service's database if it is missing and migrate it to the latest
schema: ``python -m common.migrate booking`` (or ``all``). Safe to run again."""
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from common import config
from common.db import make_engine
from common.production import refuse_development_secrets

SERVICES = ("identity", "booking", "billing", "notify")
SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def alembic_config(service, database_url):
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def create_database_if_missing(database_url):
    url = make_url(database_url)
    admin = make_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def migrate(service, database_url=None):
    database_url = database_url or config.database_url(service)
    create_database_if_missing(database_url)
    command.upgrade(alembic_config(service, database_url), "head")


def main(argv):
    names = SERVICES if argv[1:] == ["all"] else argv[1:]
    if not names or any(name not in SERVICES for name in names):
        raise SystemExit(f"usage: python -m common.migrate all|{'|'.join(SERVICES)}...")
    refuse_development_secrets("migrate")
    for name in names:
        migrate(name)
        print(f"{name}: database migrated")


if __name__ == "__main__":
    main(sys.argv)
