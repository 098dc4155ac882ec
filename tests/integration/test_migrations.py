"""The models and the migrations describe the same schema: Alembic's
autogenerate finds nothing to add after upgrading to head."""
import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from common.migrate import SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_models_match_the_migrated_database(service, databases):
    metadata = importlib.import_module(f"services.{service}.models").Base.metadata
    with databases[service].connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []
