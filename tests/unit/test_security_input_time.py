"""Security: no input makes a pattern take long (issue 13, "one customer can stop
identity for everyone").

Every text field of every schema (RPC payloads, queries, events), every
attribute of a SCIM User, a SCIM filter and every cell of a CSV import gets a
worst-case input, and each refusal must come quickly. The inputs are the ones
that made the old e-mail pattern quadratic ("a@" + "." * n + "@") and their
cousins for the other patterns (URL, domain labels, long runs). The bound is
generous on purpose: a regression guard, not a benchmark. Without the bounds
and the linear e-mail pattern, the e-mail cases take seconds each.
"""
import importlib
import inspect
import time
from pathlib import Path

import pytest
from marshmallow import Schema, fields

from common import errors
from common.validation import _EMAIL, check_bounds, is_email, load
from services.identity import csv_import, scim_protocol

# Long enough that a quadratic pattern takes seconds, short enough that the
# test stays quick when every bound holds.
N = 20_000
WORST_CASES = {
    "dots between two @": "a@" + "." * N + "@",
    "labels without an end": "a@" + "a." * N,
    "a long domain label": "a@" + "a" * N + "!",
    "a URL of labels": "http://" + "a." * N + "-",
    "a long run": "x" * (2 * N) + "!",
    "digits": "1" * (2 * N),
    "a whole body": "a@" + "." * (1024 * 1024 - 4) + "@",
}
SECONDS = 0.5  # each call; the fixed code answers in about a millisecond


def schema_modules():
    """Every module that holds a contract: the contracts package (every file,
    namespace packages too) and the shared schemas of common."""
    root = Path(__file__).resolve().parents[2]
    names = ["common.schemas", "common.caller", "common.events"]
    names += [".".join(path.relative_to(root).with_suffix("").parts)
              for path in sorted((root / "contracts").rglob("*.py"))
              if path.name != "__init__.py"]
    names += [f"services.{path.parent.name}.schemas"
              for path in sorted(root.glob("services/*/schemas.py"))]
    return [importlib.import_module(name) for name in names]


def every_schema():
    found = {}
    for module in schema_modules():
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, Schema) and value is not Schema \
                    and value.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


def text_paths(schema, prefix=()):
    """The path of every field a string can reach, nested schemas and lists too."""
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        path = prefix + (field.data_key or name,)
        while isinstance(field, fields.List):
            field, path = field.inner, path + (0,)
        if isinstance(field, fields.Nested):
            yield from text_paths(field.schema, path)
        elif isinstance(field, fields.Dict):
            yield path + ("monday",)
        elif not isinstance(field, (fields.Method, fields.Function)):
            yield path


def payload_at(path, value):
    for step in reversed(path):
        value = [value] if step == 0 else {step: value}
    return value


def timed(call):
    started = time.perf_counter()
    try:
        call()
    except errors.InvalidInput:
        pass
    return time.perf_counter() - started


SCHEMAS = every_schema()


def test_every_contract_module_is_found():
    # A new schema module is covered without touching this test.
    assert "contracts.rpc.identity.UserCreateSchema" in SCHEMAS
    assert "contracts.rpc.booking.BookingCreateSchema" in SCHEMAS
    assert any(name.startswith("contracts.events.") for name in SCHEMAS)
    assert len(SCHEMAS) > 40


@pytest.mark.parametrize("schema_name", sorted(SCHEMAS))
def test_every_text_field_of_every_schema_refuses_a_worst_case_quickly(schema_name):
    schema = SCHEMAS[schema_name]()
    slow = []
    for path in text_paths(schema):
        for case, text in WORST_CASES.items():
            seconds = timed(lambda: load(schema, payload_at(path, text)))
            if seconds > SECONDS:
                slow.append(f"{'.'.join(map(str, path))} with {case}: {seconds:.2f} s")
    assert not slow, slow


def test_a_text_longer_than_its_field_is_refused_before_any_validator():
    from contracts.rpc.identity import UserCreateSchema
    with pytest.raises(errors.InvalidInput) as refused:
        check_bounds(UserCreateSchema(), {"email": "a@" + "." * N + "@", "full_name": "x" * 201,
                                          "roles": ["member"] * 1001})
    assert set(refused.value.fields) == {"email", "full_name", "roles"}


def test_the_email_pattern_is_linear_and_bounded():
    assert is_email("camille.nomade@mutuelle.example")
    assert not is_email("a@b") and not is_email("a@b..c") and not is_email("a b@c.d")
    assert not is_email("a@" + "b" * 320 + ".fr")  # too long, refused before the pattern
    # The pattern itself, unbounded, stays linear on its worst cases.
    for text in WORST_CASES.values():
        assert timed(lambda: _EMAIL.fullmatch(text * 4)) < SECONDS


@pytest.mark.parametrize("attribute", ["userName", "displayName", "externalId", "password",
                                       "name.givenName", "name.familyName", "emails"])
@pytest.mark.parametrize("case", sorted(WORST_CASES))
def test_every_scim_attribute_refuses_a_worst_case_quickly(attribute, case):
    text = WORST_CASES[case]
    body = {"schemas": [scim_protocol.USER_SCHEMA], "userName": "ana@assureur.example"}
    if attribute == "emails":
        body["emails"] = [{"value": text, "primary": True}]
    elif attribute.startswith("name."):
        body["name"] = {attribute.split(".")[1]: text}
    else:
        body[attribute] = text
    patch = {"schemas": [scim_protocol.PATCH_SCHEMA],
             "Operations": [{"op": "replace", "path": attribute if attribute != "emails"
                             else "emails.value", "value": text}]}
    state = {"user_name": "ana@assureur.example", "email": "ana@assureur.example",
             "full_name": "Ana", "active": True}
    assert timed(lambda: scim_protocol.state_from_resource(body)) < SECONDS
    assert timed(lambda: scim_protocol.apply_patch(state, patch)) < SECONDS
    with pytest.raises(errors.InvalidInput):
        scim_protocol.state_from_resource(body)


@pytest.mark.parametrize("case", sorted(WORST_CASES))
def test_a_scim_filter_refuses_a_worst_case_quickly(case):
    text = WORST_CASES[case]
    assert timed(lambda: scim_protocol.parse_filter(f'userName eq "{text}"')) < SECONDS
    assert timed(lambda: scim_protocol.parse_filter(text[:1000])) < SECONDS


@pytest.mark.parametrize("column", sorted(csv_import.COLUMNS))
def test_every_csv_cell_refuses_a_worst_case_quickly(column):
    for case, text in WORST_CASES.items():
        cells = {name: "" for name in csv_import.COLUMNS}
        cells.update(email="ana@assureur.example", full_name="Ana")
        cells[column] = text[:100_000]  # the csv module's own cell limit is 131,072
        names = sorted(cells)
        body = ",".join(names) + "\n" + ",".join(cells[name] for name in names) + "\n"
        report = csv_import.Report(dry_run=True)
        started = time.perf_counter()
        rows = csv_import.parse(body, report)
        assert time.perf_counter() - started < SECONDS, case
        assert not rows and report.errors[0]["field"] == column, (case, report.errors)
