"""identity's pure rules: password policy, CSV parsing, the
SCIM filter grammar and PATCH semantics. No database, no broker."""

import pytest

from common import errors
from contracts import scim
from services.identity import passwords, scim_protocol
from services.identity.csv_import import Report, parse
from services.identity.profiles import coarse


@pytest.mark.parametrize("password, problem", [
    ("short-1", "at least 12 characters"),
    ("abababababababab", "5 different characters"),
    ("Password1234", "too common"),
    ("camille.martin-2026", "e-mail"),
])
def test_the_password_policy(password, problem):
    violations = passwords.policy_violations(password, "camille.martin@example.org")
    assert any(problem in violation for violation in violations), violations


def test_a_good_password_passes():
    assert passwords.policy_violations("correct horse battery staple", "c@example.org") == []


def test_profile_coordinates_are_coarse():
    assert coarse({"home_latitude": 45.95712, "home_longitude": -2.16843, "commute_km": 12.349}) \
        == {"home_commune": None, "home_postcode": None, "home_latitude": 45.96,
            "home_longitude": -2.17,
            "usual_office": None, "commute_km": 12.3, "commute_mode": None}


# CSV ------------------------------------------------------------------------------

def test_csv_semicolons_bom_aliases_and_line_numbers():
    report = Report(dry_run=True)
    rows = parse("\ufeffE-mail;First_Name;Last_Name;Active\n"
                 "ana@example.org;Ana;Lopes;non\n"
                 "\n"
                 "marc@example.org;Marc;;oui\n", report)
    assert report.errors == []
    assert [(r.line, r.email, r.full_name, r.active) for r in rows] == [
        (2, "ana@example.org", "Ana Lopes", False), (4, "marc@example.org", "Marc", True)]


def test_csv_errors_name_the_line_and_the_field():
    report = Report(dry_run=True)
    parse("email,full_name,role\n"
          "a@example.org,A,member\n"
          "b@example.org,B,network_admin\n"
          "a@example.org,A2,member\n"
          "c@example.org,C\n", report)
    assert [(e["line"], e["field"]) for e in report.errors] == [
        (3, "role"), (4, "email"), (5, None)]


def test_csv_unknown_columns_are_refused_at_the_header():
    report = Report(dry_run=True)
    assert parse("email,salary\na@example.org,1\n", report) == []
    assert report.errors[0]["line"] == 1 and "salary" in report.errors[0]["message"]


# SCIM filters -----------------------------------------------------------------------

def test_filters_parse_with_precedence_case_and_value_paths():
    assert scim_protocol.parse_filter('userName Eq "A@B.fr" and not (active eq false) or '
                                      'emails[type eq "work"]') == (
        "or",
        ("and", ("cmp", "username", "eq", "A@B.fr"), ("not", ("cmp", "active", "eq", False))),
        ("value_path", "emails", ("cmp", "type", "eq", "work")))
    assert scim_protocol.parse_filter(
        'urn:ietf:params:scim:schemas:core:2.0:User:externalId pr') == ("pr", "externalid")
    assert scim_protocol.parse_filter('displayName co "a \\"quoted\\" name"') == (
        "cmp", "displayname", "co", 'a "quoted" name')


@pytest.mark.parametrize("text", ['userName eq', 'userName xx "a"', '(active eq true',
                                  'userName eq bare', 'active eq true)', ''])
def test_bad_filters_are_invalid_filter(text):
    with pytest.raises(errors.InvalidInput) as refused:
        scim_protocol.parse_filter(text)
    assert refused.value.code == "invalidFilter"


# SCIM PATCH ----------------------------------------------------------------------------

STATE = {"user_name": "ana@example.org", "email": "ana@example.org", "external_id": "E1",
         "active": True, "given_name": "Ana", "family_name": "Lopes", "full_name": "Ana Lopes",
         "locale": "fr", "password": None, "kept": {}}
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patched(*operations):
    return scim_protocol.apply_patch(STATE, {"schemas": [PATCH], "Operations": list(operations)})


def test_patch_replace_add_remove():
    state = patched({"op": "Replace", "path": "active", "value": "False"},
                    {"op": "add", "path": "name.familyName", "value": "Lopes-Vidal"},
                    {"op": "remove", "path": "externalId"},
                    {"op": "replace", "value": {"displayName": "Ana L.-V.",
                                                "emails": [{"value": "ana.lv@example.org",
                                                            "primary": True}]}})
    assert (state["active"], state["family_name"], state["external_id"], state["full_name"],
            state["email"]) == (False, "Lopes-Vidal", None, "Ana L.-V.", "ana.lv@example.org")


@pytest.mark.parametrize("tag, locale", [
    ("en-US", "en"), ("en", "en"), ("EN-gb", "en"), ("fr-FR", "fr"), ("de-DE", "fr"),
    ("de-DE, en;q=0.8", "en"), ("", "fr"),
])
def test_scim_preferred_language_is_the_first_language_relais_writes_in(tag, locale):
    assert scim_protocol.locale_of_language(tag) == locale


def test_scim_preferred_language_is_read_written_patched_and_removed():
    body = {"schemas": [scim.USER_SCHEMA], "userName": "ana@example.org",
            "preferredLanguage": "en-GB"}
    assert scim_protocol.state_from_resource(body)["locale"] == "en"
    assert patched({"op": "replace", "path": "preferredLanguage", "value": "en"})["locale"] == "en"
    english = dict(STATE, locale="en")
    removed = scim_protocol.apply_patch(english, {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": "preferredLanguage"}]})
    assert removed["locale"] == "fr"


def test_patch_keeps_as_sent_what_relais_does_not_use():
    state = patched({"op": "replace", "path": "title", "value": "Actuaire"},
                    {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:"
                                          "2.0:User:department", "value": "Risques"},
                    {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "1"},
                    {"op": "add", "path": "name.middleName", "value": "Maria"})
    assert {k: v for k, v in state.items() if k not in ("password", "kept")} == \
        {k: v for k, v in STATE.items() if k not in ("password", "kept")}
    assert state["kept"] == {
        "title": "Actuaire", "name": {"middleName": "Maria"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Risques"},
        "phoneNumbers": [{"type": "work", "value": "1"}]}
    assert STATE["kept"] == {}  # all or nothing: the state patched is a copy


def test_a_failing_patch_changes_nothing():
    before = dict(STATE, kept={"phoneNumbers": [{"type": "work", "value": "1"}]})
    with pytest.raises(errors.InvalidInput):
        scim_protocol.apply_patch(before, {"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "2"},
            {"op": "replace", "path": "shoeSize", "value": 1}]})
    assert before["kept"] == {"phoneNumbers": [{"type": "work", "value": "1"}]}


@pytest.mark.parametrize("operation, scim_type", [
    ({"op": "replace", "path": "shoeSize", "value": 1}, "invalidPath"),
    ({"op": "remove"}, "noTarget"),
    ({"op": "remove", "path": "userName"}, "mutability"),
    ({"op": "move", "path": "active"}, "invalidSyntax"),
    ({"op": "replace", "path": "active", "value": "maybe"}, "invalidValue"),
    ({"op": "replace", "path": "emails.value", "value": "not-an-email"}, "invalidValue"),
])
def test_patch_errors_carry_their_scim_type(operation, scim_type):
    with pytest.raises(errors.InvalidInput) as refused:
        patched(operation)
    assert refused.value.code == scim_type


def test_a_resource_needs_the_user_schema_and_an_email():
    with pytest.raises(errors.InvalidInput) as no_schema:
        scim_protocol.state_from_resource({"userName": "a@example.org"})
    assert no_schema.value.code == "invalidSyntax"
    state = scim_protocol.state_from_resource({
        "schemas": [scim.USER_SCHEMA], "USERNAME": "jdoe",
        "Emails": [{"value": "other@example.org"}, {"value": "john@example.org", "primary": True}],
        "name": {"givenName": "John", "familyName": "Doe"}})
    assert (state["user_name"], state["email"], state["full_name"], state["active"]) == (
        "jdoe", "john@example.org", "John Doe", True)


def test_attributes_and_excluded_attributes_project_a_resource():
    user = {"schemas": ["s"], "id": "1", "userName": "a@b.fr", "active": True,
            "name": {"givenName": "A", "familyName": "B"}, "meta": {"version": "v"}}
    assert scim.project(user, attributes="userName,name.givenName") == {
        "schemas": ["s"], "id": "1", "userName": "a@b.fr", "name": {"givenName": "A"}}
    assert scim.project(user, excluded=["name.familyName", "ACTIVE", "id"]) == {
        "schemas": ["s"], "id": "1", "userName": "a@b.fr", "name": {"givenName": "A"},
        "meta": {"version": "v"}}


def test_removing_the_name_derives_it_again_from_what_remains():
    state = patched({"op": "remove", "path": "displayName"},
                    {"op": "remove", "path": "name.familyName"})
    assert (state["full_name"], state["family_name"]) == ("Ana", None)


def test_deeply_nested_filters_are_invalid_filter_not_a_crash():
    deep = "(" * 400 + 'userName eq "x"' + ")" * 400
    with pytest.raises(errors.InvalidInput) as refused:
        scim_protocol.parse_filter(deep)
    assert refused.value.code == "invalidFilter" and "levels deep" in refused.value.detail
    nested_nots = "not (" * 30 + 'active eq true' + ")" * 30
    with pytest.raises(errors.InvalidInput):
        scim_protocol.parse_filter(nested_nots)
    # What identity providers send still parses.
    assert scim_protocol.parse_filter('((userName eq "x"))') == ("cmp", "username", "eq", "x")


def test_a_put_without_active_keeps_the_current_value():
    body = {"schemas": [scim.USER_SCHEMA], "userName": "ana@example.org"}
    assert scim_protocol.state_from_resource(body, active=False)["active"] is False
    assert scim_protocol.state_from_resource(dict(body, active=True), active=False)["active"] \
        is True
    assert scim_protocol.state_from_resource(body)["active"] is True  # a POST: active


@pytest.mark.parametrize("text, sql", [
    ("emails.type pr", "true"),
    ("emails[type pr]", "true"),
    ("emails[primary pr]", "true"),
    ('meta.created gt "2026-01-01T00:00:00Z"', "users.created_at > '2026-01-01 00:00:00+00:00'"),
    ('meta.created gt "2026-01-01T00:00:00"', "users.created_at > '2026-01-01 00:00:00+00:00'"),
])
def test_filters_become_sql(text, sql):
    from sqlalchemy.dialects import postgresql
    from services.identity.scim import _sql
    compiled = _sql(scim_protocol.parse_filter(text)).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    assert str(compiled) == sql


@pytest.mark.parametrize("text", ['meta.created gt "notadate"', 'meta.lastModified eq "2026-13-01"'])
def test_a_filter_date_that_is_no_date_is_invalid_filter(text):
    from services.identity.scim import _sql
    with pytest.raises(errors.InvalidInput) as refused:
        _sql(scim_protocol.parse_filter(text))
    assert refused.value.code == "invalidFilter" and "not a date" in refused.value.detail


def test_csv_an_external_id_twice_in_the_file_is_reported_on_its_line():
    report = Report(dry_run=True)
    rows = parse("email,full_name,external_id\n"
                 "ana@example.org,Ana,E1\n"
                 "marc@example.org,Marc,E2\n"
                 "lou@example.org,Lou,E1\n"
                 "zoe@example.org,Zoé,\n"
                 "max@example.org,Max,\n", report)
    assert report.errors == [{"line": 4, "field": "external_id", "message": "Already on line 2."}]
    assert [row.email for row in rows] == ["ana@example.org", "marc@example.org",
                                           "zoe@example.org", "max@example.org"]
