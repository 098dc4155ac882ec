"""Each service's README lists the events it publishes (with their version and
fields) and the events it consumes; this test holds those tables to the code,
so they cannot drift: the contracts registry (``contracts.events.EVENTS``) for
what is published, the ``@consumes`` and ``@consumes_in_batches``
declarations in ``service.py`` for what is consumed."""
import ast
import re
from pathlib import Path

import pytest

from contracts import events
from contracts.events.booking import BookingFactsSchema

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("identity", "booking", "billing", "notify")


def table_rows(readme, heading):
    """The rows of the table under the section whose title starts with ``heading``."""
    lines = readme.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("## " + heading)), None)
    if start is None:
        return []
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if line.startswith("|") and not set(line) <= set("|-: "):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # without the header


def event_types(cell):
    return re.findall(r"`([a-z]+\.[a-z_]+)`", cell)


def readme(service):
    return (ROOT / "services" / service / "README.md").read_text()


def published_rows(service):
    return [(event_type, row) for row in table_rows(readme(service), "Events published")
            for event_type in event_types(row[0])]


def consumed_declarations(service):
    tree = ast.parse((ROOT / "services" / service / "service.py").read_text())
    return {decorator.args[0].value
            for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
            for decorator in node.decorator_list
            if isinstance(decorator, ast.Call)
            and getattr(decorator.func, "id", "") in ("consumes", "consumes_in_batches")}


@pytest.mark.parametrize("service", SERVICES)
def test_the_readme_lists_every_event_the_service_publishes_and_no_other(service):
    listed = [event_type for event_type, _ in published_rows(service)]
    registered = [t for t in events.EVENTS if events.source_of(t) == service]
    assert sorted(listed) == sorted(registered)


@pytest.mark.parametrize("service", SERVICES)
def test_the_readme_gives_each_published_event_its_version_and_fields(service):
    facts = set(BookingFactsSchema().fields)
    for event_type, row in published_rows(service):
        version, data = row[1], row[-1]
        assert version == str(events.version_of(event_type)), event_type
        for name in events.schema_of(event_type).fields:
            assert name in data or (name in facts and "facts" in data), (event_type, name)


@pytest.mark.parametrize("service", SERVICES)
def test_the_readme_lists_every_event_the_service_consumes_and_no_other(service):
    listed = {t for row in table_rows(readme(service), "Events consumed")
              for t in event_types(row[0])}
    assert listed == consumed_declarations(service)
    assert consumed_declarations(service) <= set(events.EVENTS)


def test_the_tables_are_found():
    """Would the tests above pass on READMEs whose tables they cannot read?"""
    assert len(published_rows("booking")) == 10
    assert consumed_declarations("notify") and consumed_declarations("booking")
