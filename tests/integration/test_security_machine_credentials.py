"""Security: a machine credential never becomes a person (issue 13).

An API key or a SCIM token grants only ``member``; an API key sets nobody's
password; a SCIM token sets, or re-addresses, only members; a key lives and
holds rights only as long as its creator does. Each path the attacker used
is tried against the real service."""
import pytest
from sqlalchemy import create_engine, text

from tests.integration.conftest import ADMIN, database_url
from tests.integration.test_identity_service import (  # noqa: F401 (fixtures)
    PASSWORD, company, employee, identity, key_creator, refused,
)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patch(path, value):
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "path": path, "value": value}]}


@pytest.fixture
def admin(identity, company):
    return key_creator(identity, company)


@pytest.fixture
def api_key(identity, company, admin):
    key = identity.create_api_key(caller=admin, organisation_id=company["id"],
                                  payload={"name": "SIRH", "roles": ["corporate_admin"]})
    return identity.authenticate_secret(secret=key["secret"]), key["secret"]


@pytest.fixture
def scim_token(identity, company, admin):
    token = identity.create_scim_token(caller=admin, organisation_id=company["id"],
                                       payload={"name": "IdP"})
    return identity.authenticate_secret(secret=token["secret"]), token["secret"]


def test_an_api_key_cannot_make_an_admin_or_choose_a_password(identity, company, api_key):
    as_key, _ = api_key
    refused(lambda: identity.create_user(caller=as_key, organisation_id=company["id"], payload={
        "email": "mole@assureur.example", "full_name": "Mole", "roles": ["corporate_admin"]}),
        "Forbidden", "person-required")
    refused(lambda: identity.create_user(caller=as_key, organisation_id=company["id"], payload={
        "email": "mole@assureur.example", "full_name": "Mole", "password": PASSWORD}),
        "Forbidden", "person-required")
    report = identity.import_users(caller=as_key, organisation_id=company["id"], payload={
        "csv": "email,full_name,role\nmole@assureur.example,Mole,corporate_admin\n"})
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(2, "role")]
    # What keys are for still works: a member, invited to set their own password.
    member = identity.create_user(caller=as_key, organisation_id=company["id"], payload={
        "email": "ana@assureur.example", "full_name": "Ana"})
    assert member["roles"] == ["member"] and not member["password_set"]


def test_a_scim_token_cannot_take_over_an_admin(identity, company, admin, scim_token):
    as_scim, _ = scim_token
    for attack in (patch("password", PASSWORD), patch("userName", "mole@evil.example"),
                   patch("emails.value", "mole@evil.example")):
        refused(lambda: identity.scim_patch_user(caller=as_scim, user_id=admin["user_id"],
                                                 body=attack), "Forbidden", "person-required")
    refused(lambda: identity.scim_replace_user(caller=as_scim, user_id=admin["user_id"], body={
        "schemas": [USER], "userName": "admin@assureur.example", "password": PASSWORD}),
        "Forbidden", "person-required")
    refused(lambda: identity.issue_token(payload={"email": "admin@assureur.example",
                                                  "password": PASSWORD}),
            "Unauthorized", "invalid-credentials")
    # An identity provider still syncs members' passwords and offboards anyone.
    member = identity.scim_create_user(caller=as_scim, body={
        "schemas": [USER], "userName": "ana@assureur.example", "password": PASSWORD})
    assert identity.issue_token(payload={"email": "ana@assureur.example",
                                         "password": PASSWORD})["access_token"]
    identity.scim_patch_user(caller=as_scim, user_id=member["id"],
                             body=patch("password", PASSWORD + " 2"))


@pytest.mark.parametrize("credential", ["api_key", "scim_token"])
def test_a_key_dies_with_its_creator(identity, admin, credential, request):
    _, secret = request.getfixturevalue(credential)
    identity.deactivate_user(caller=ADMIN, user_id=admin["user_id"])
    refused(lambda: identity.authenticate_secret(secret=secret), "Unauthorized", "invalid-token")


def test_a_key_loses_the_rights_its_creator_lost(identity):
    operator = identity.create_organisation(caller=ADMIN, payload={
        "kind": "relay_operator", "name": "Association du Relais"})
    relay, other = "7b0b7d2c-3c52-4c4a-9d1e-0a4f0e0d3b11", "8c1c8e3d-4d63-4d5b-8e2f-1b5f1f1e4c22"
    manager = key_creator(identity, operator, ["relay_manager"], [relay, other],
                          email="gerant@relais.example")
    key = identity.create_api_key(caller=manager, organisation_id=operator["id"], payload={
        "name": "Caisse", "roles": ["relay_manager"], "relay_ids": [relay, other]})
    engine = create_engine(database_url("identity"))
    with engine.begin() as conn:  # a network admin took one relay away (no API does it yet)
        conn.execute(text("UPDATE users SET relay_ids = :relays WHERE id = :id"),
                     {"relays": [relay], "id": manager["user_id"]})
    assert identity.authenticate_secret(secret=key["secret"])["relay_ids"] == [relay]
    with engine.begin() as conn:  # ... then the role itself
        conn.execute(text("UPDATE users SET roles = '{member}' WHERE id = :id"),
                     {"id": manager["user_id"]})
    engine.dispose()
    refused(lambda: identity.authenticate_secret(secret=key["secret"]),
            "Unauthorized", "invalid-token")
