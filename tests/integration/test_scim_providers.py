"""SCIM as Microsoft Entra ID and Okta really send it (issue 15), replayed
against the real identity service. The bodies are those the providers
document, trimmed of nothing that matters; each test names its source:

- [Entra tutorial] Microsoft Learn, "Tutorial: Develop and plan provisioning
  for a SCIM endpoint in Microsoft Entra ID" (request/response examples).
- [Entra known issues] Microsoft Learn, "Known issues and resolutions with SCIM
  2.0 protocol compliance of the Microsoft Entra user provisioning service".
- [Okta reference] Okta Developer, "SCIM 2.0 Protocol Reference".
- [Okta build] Okta Developer, "Build your SCIM API service".
"""
import pytest
from nameko.exceptions import RemoteError

from tests.integration.conftest import ADMIN
from tests.integration.test_identity_service import (  # noqa: F401 (fixtures)
    COMPANY, PASSWORD, company, identity, key_creator, refused,
)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTRA_GROUP_EXTENSION = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


@pytest.fixture
def scim(identity, company):
    admin = key_creator(identity, company)
    token = identity.create_scim_token(caller=admin, organisation_id=company["id"],
                                       payload={"name": "IdP"})
    return identity.authenticate_secret(secret=token["secret"])


def okta_user(user_name="test.user@okta.local", password="1mz050nq"):
    # [Okta reference] "Create the User": an 8-character password, locale, groups.
    return {"schemas": [USER], "userName": user_name,
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": user_name, "type": "work"}],
            "displayName": "Test User", "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7-" + user_name.lower(),
            "groups": [], "password": password, "active": True}


def entra_user():
    # [Entra tutorial] "Create User": userName is not an e-mail, emails holds one.
    return {"schemas": [USER, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": True,
            "emails": [{"primary": True, "type": "work",
                        "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName",
                     "givenName": "givenName"},
            "roles": []}


def patch(*operations):
    return {"schemas": [PATCH], "Operations": list(operations)}


def test_okta_creates_a_user_with_a_short_synced_password(identity, scim):
    created = identity.scim_create_user(caller=scim, body=okta_user())
    assert created["userName"] == "test.user@okta.local"
    assert (created["displayName"], created["locale"]) == ("Test User", "en-US")
    assert "password" not in created
    # Not kept (below the policy): the user sets their own with the invitation.
    refused(lambda: identity.issue_token(payload={"email": "test.user@okta.local",
                                                  "password": "1mz050nq"}),
            "Unauthorized", "invalid-credentials")
    entries = identity.list_audit_entries(caller=ADMIN, organisation_id=scim["organisation_id"],
                                          query={"action": "user.password_not_kept"})
    assert [e["target_id"] for e in entries] == [created["id"]]
    # A password that meets the policy is still synced.
    synced = identity.scim_create_user(caller=scim, body=okta_user("ana@okta.local", PASSWORD))
    assert identity.issue_token(payload={"email": "ana@okta.local", "password": PASSWORD})
    identity.scim_patch_user(caller=scim, user_id=synced["id"], body=patch(
        {"op": "replace", "path": "password", "value": "short1"}))
    assert identity.issue_token(payload={"email": "ana@okta.local", "password": PASSWORD})


def test_okta_default_update_with_middle_name_and_honorifics(identity, scim):
    created = identity.scim_create_user(caller=scim, body=okta_user())
    # [Okta reference] "Update a specific User (PUT)": name with middleName.
    body = dict(okta_user(), id=created["id"],
                name={"givenName": "Another", "middleName": "Middle", "familyName": "User",
                      "honorificPrefix": "Dr."})
    body.pop("password")
    replaced = identity.scim_replace_user(caller=scim, user_id=created["id"], body=body)
    assert replaced["name"]["middleName"] == "Middle"
    assert replaced["name"]["honorificPrefix"] == "Dr."
    assert replaced["name"]["givenName"] == "Another"
    patched = identity.scim_patch_user(caller=scim, user_id=created["id"], body=patch(
        {"op": "replace", "path": "name.middleName", "value": "Second"},
        {"op": "add", "path": "name.honorificSuffix", "value": "PhD"}))
    assert (patched["name"]["middleName"], patched["name"]["honorificSuffix"]) == ("Second", "PhD")
    again = identity.scim_get_user(caller=scim, user_id=created["id"])
    assert again["name"] == patched["name"]


def test_values_come_back_as_sent(identity, scim):
    body = okta_user("Test.User@Okta.Local")
    body["name"]["formatted"] = "Ms. Test User"
    created = identity.scim_create_user(caller=scim, body=body)
    assert created["userName"] == "Test.User@Okta.Local"
    assert created["displayName"] == "Test User"
    assert created["name"]["formatted"] == "Ms. Test User"
    listing = identity.scim_list_users(caller=scim, filter='userName eq "test.user@okta.local"')
    assert [u["id"] for u in listing["Resources"]] == [created["id"]]  # matched in any case
    # Uniqueness stays case-insensitive.
    refused(lambda: identity.scim_create_user(caller=scim, body=okta_user("TEST.USER@okta.local")),
            "Conflict", "")
    patched = identity.scim_patch_user(caller=scim, user_id=created["id"], body=patch(
        {"op": "replace", "path": "displayName", "value": "Testy"}))
    assert (patched["displayName"], patched["name"]["formatted"]) == ("Testy", "Ms. Test User")


def test_entra_user_with_the_enterprise_extension_is_kept(identity, scim):
    body = entra_user()
    body[ENTERPRISE] = {"employeeNumber": "701984", "department": "Tour Operations",
                        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}
    body["title"] = "Tour Guide"
    body["phoneNumbers"] = [{"type": "work", "value": "+33 5 55 00 00 00"}]
    created = identity.scim_create_user(caller=scim, body=body)
    assert created["schemas"] == [USER, ENTERPRISE]
    assert created[ENTERPRISE] == body[ENTERPRISE]
    assert created["title"] == "Tour Guide" and created["phoneNumbers"] == body["phoneNumbers"]
    assert created.get("roles", []) == []  # kept as sent, grants nothing
    # [Entra known issues] the manager as a bare id, and attributes by full URN path.
    patched = identity.scim_patch_user(caller=scim, user_id=created["id"], body=patch(
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": "b1c2"},
        {"op": "Replace", "value": {f"{ENTERPRISE}:department": "Finance",
                                    "name.givenName": "Given"}},
        {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+33 6 00"}))
    assert patched[ENTERPRISE]["manager"] == {"value": "b1c2"}
    assert patched[ENTERPRISE]["department"] == "Finance"
    assert patched["name"]["givenName"] == "Given"
    assert {"type": "mobile", "value": "+33 6 00"} in patched["phoneNumbers"]
    # Still refused: what no schema names.
    refused(lambda: identity.scim_patch_user(caller=scim, user_id=created["id"], body=patch(
        {"op": "replace", "path": "favouriteColour", "value": "red"})), "InvalidInput",
        "invalidPath")


def test_entra_matches_and_maps_users_on_e_mail(identity, scim):
    created = identity.scim_create_user(caller=scim, body=entra_user())
    address = created["emails"][0]["value"]
    # [Entra known issues] the filter Entra sends when matching on mail.
    listing = identity.scim_list_users(caller=scim,
                                       filter=f'emails[type eq "work"].value eq "{address}"')
    assert [u["id"] for u in listing["Resources"]] == [created["id"]]
    none = identity.scim_list_users(caller=scim,
                                    filter='emails[type eq "work"].value eq "nobody@x.example"')
    assert none["totalResults"] == 0
    # [Entra tutorial] "Update User [Multi-valued properties]".
    patched = identity.scim_patch_user(caller=scim, user_id=created["id"], body=patch(
        {"op": "Replace", "path": 'emails[type eq "work"].value',
         "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        {"op": "Add", "path": 'emails[type eq "other"].value', "value": "other@microsoft.com"}))
    assert {"type": "work", "primary": True, "value": "updatedEmail@microsoft.com"} \
        in patched["emails"]
    assert {"type": "other", "value": "other@microsoft.com"} in patched["emails"]
    assert patched["name"]["familyName"] == "updatedFamilyName"
    # The address Relais mails is the primary (work) one, not the other.
    user = identity.get_user(caller=ADMIN, user_id=created["id"])
    assert user["email"] == "updatedEmail@microsoft.com"
    removed = identity.scim_patch_user(caller=scim, user_id=created["id"], body=patch(
        {"op": "Remove", "path": 'emails[type eq "other"]'}))
    assert [e["type"] for e in removed["emails"]] == ["work"]


def test_entra_false_strings_and_pathless_replace(identity, scim):
    created = identity.scim_create_user(caller=scim, body=entra_user())
    # [Entra known issues] "active" as the string "False", in a value without path.
    patched = identity.scim_patch_user(caller=scim, user_id=created["id"], body=patch(
        {"op": "Replace", "value": {"active": "False"}}))
    assert patched["active"] is False


def okta_group(name="Test SCIMv2", members=()):
    # [Okta reference] "Create a Group".
    return {"schemas": [GROUP], "displayName": name,
            "members": [{"value": m, "display": "member"} for m in members]}


def test_entra_pushes_a_group_and_its_members(identity, scim):
    ana = identity.scim_create_user(caller=scim, body=okta_user("ana@okta.local", PASSWORD))
    bob = identity.scim_create_user(caller=scim, body=okta_user("bob@okta.local", PASSWORD))
    # [Entra tutorial] "Create Group", with Entra's own extension in schemas.
    group = identity.scim_create_group(caller=scim, body={
        "schemas": [GROUP, ENTRA_GROUP_EXTENSION],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Nomades Limousin", "meta": {"resourceType": "Group"}})
    assert group["displayName"] == "Nomades Limousin" and group["members"] == []
    # [Entra tutorial] "Update Group [Add Members]" and "[Remove Members]".
    identity.scim_patch_group(caller=scim, group_id=group["id"], body=patch(
        {"name": "addMember", "op": "Add", "path": "members",
         "value": [{"$ref": None, "value": ana["id"]}, {"$ref": None, "value": bob["id"]}]}))
    found = identity.scim_get_group(caller=scim, group_id=group["id"])
    assert {m["value"] for m in found["members"]} == {ana["id"], bob["id"]}
    identity.scim_patch_group(caller=scim, group_id=group["id"], body=patch(
        {"name": "removeMember", "op": "Remove", "path": "members",
         "value": [{"$ref": None, "value": bob["id"]}]}))
    # [Entra tutorial] "Get Group by displayName", members excluded, and by member.
    by_name = identity.scim_list_groups(caller=scim, filter='displayName eq "Nomades Limousin"',
                                        members=False)
    assert [g["id"] for g in by_name["Resources"]] == [group["id"]]
    assert "members" not in by_name["Resources"][0]
    by_member = identity.scim_list_groups(
        caller=scim, filter=f'id eq "{group["id"]}" and members[value eq "{ana["id"]}"]')
    assert by_member["totalResults"] == 1
    not_member = identity.scim_list_groups(
        caller=scim, filter=f'id eq "{group["id"]}" and members[value eq "{bob["id"]}"]')
    assert not_member["totalResults"] == 0
    # [Entra tutorial] "Update Group [Non-member attributes]".
    renamed = identity.scim_patch_group(caller=scim, group_id=group["id"], body=patch(
        {"op": "Replace", "path": "displayName", "value": "Nomades du Limousin"}))
    assert renamed["displayName"] == "Nomades du Limousin"
    # The user's groups attribute tells where they belong.
    assert identity.scim_get_user(caller=scim, user_id=ana["id"])["groups"] == [
        {"value": group["id"], "display": "Nomades du Limousin", "type": "direct"}]
    assert "groups" not in identity.scim_get_user(caller=scim, user_id=bob["id"])


def test_okta_pushes_a_group_its_way(identity, scim):
    ana = identity.scim_create_user(caller=scim, body=okta_user("ana@okta.local", PASSWORD))
    bob = identity.scim_create_user(caller=scim, body=okta_user("bob@okta.local", PASSWORD))
    group = identity.scim_create_group(caller=scim, body=okta_group(members=[ana["id"]]))
    assert [m["value"] for m in group["members"]] == [ana["id"]]
    # [Okta reference] "Update Group name" (replace without path, with the id).
    identity.scim_patch_group(caller=scim, group_id=group["id"], body=patch(
        {"op": "replace", "value": {"id": group["id"], "displayName": "Direction"}}))
    # [Okta reference] "Add Group members" then "Remove Group members".
    identity.scim_patch_group(caller=scim, group_id=group["id"], body=patch(
        {"op": "add", "path": "members", "value": [{"value": bob["id"], "display": "bob"}]}))
    after = identity.scim_patch_group(caller=scim, group_id=group["id"], body=patch(
        {"op": "remove", "path": f'members[value eq "{ana["id"]}"]'}))
    assert after["displayName"] == "Direction"
    assert [m["value"] for m in after["members"]] == [bob["id"]]
    # [Okta build] PUT with the whole membership.
    put = identity.scim_replace_group(caller=scim, group_id=group["id"], body=dict(
        okta_group("Direction", [ana["id"], bob["id"]]), id=group["id"]))
    assert {m["value"] for m in put["members"]} == {ana["id"], bob["id"]}
    listing = identity.scim_list_groups(caller=scim, filter='displayName eq "Direction"')
    assert listing["totalResults"] == 1
    identity.scim_delete_group(caller=scim, group_id=group["id"])
    refused(lambda: identity.scim_get_group(caller=scim, group_id=group["id"]), "NotFound", "")
    assert "groups" not in identity.scim_get_user(caller=scim, user_id=ana["id"])


def test_groups_hold_only_the_organisations_own_users(identity, scim, company):
    other = identity.create_organisation(caller=ADMIN, payload=dict(COMPANY, name="Autre"))
    stranger = identity.create_user(caller=ADMIN, organisation_id=other["id"], payload={
        "email": "stranger@autre.example", "full_name": "Stranger"})
    refused(lambda: identity.scim_create_group(caller=scim, body=okta_group(
        members=[stranger["id"]])), "InvalidInput", "invalidValue")
    refused(lambda: identity.scim_create_group(caller=scim, body=okta_group(
        members=["not-a-user"])), "InvalidInput", "invalidValue")
    identity.scim_create_group(caller=scim, body=okta_group("Direction"))
    refused(lambda: identity.scim_create_group(caller=scim, body=okta_group("DIRECTION")),
            "Conflict", "group-taken")
    refused(lambda: identity.scim_create_group(caller=scim, body={"schemas": [GROUP]}),
            "InvalidInput", "invalidValue")
    # Another organisation's SCIM token sees none of these groups.
    admin = key_creator(identity, other, email="admin@autre.example")
    token = identity.create_scim_token(caller=admin, organisation_id=other["id"],
                                       payload={"name": "IdP"})
    theirs = identity.authenticate_secret(secret=token["secret"])
    assert identity.scim_list_groups(caller=theirs)["totalResults"] == 0


def test_bad_group_patches_are_scim_errors(identity, scim):
    group = identity.scim_create_group(caller=scim, body=okta_group())
    for operation, code in (
            ({"op": "remove", "path": "displayName"}, "mutability"),
            ({"op": "replace", "path": "owner", "value": "x"}, "invalidPath"),
            ({"op": "add", "path": "members", "value": "x"}, "invalidValue"),
            ({"op": "move", "path": "members"}, "invalidSyntax")):
        with pytest.raises(RemoteError) as error:
            identity.scim_patch_group(caller=scim, group_id=group["id"], body=patch(operation))
        assert code in str(error.value), (operation, error.value)


def member_policies_published(user_id):
    from sqlalchemy import create_engine, text
    from tests.integration.conftest import database_url
    engine = create_engine(database_url("identity"))
    with engine.connect() as conn:
        found = [row[0]["data"] for row in conn.execute(text(
            "SELECT envelope FROM outbox WHERE event_type = 'identity.member_policies_changed' "
            "ORDER BY id"))]
    engine.dispose()
    return [data["policies"] for data in found if data["user_id"] == user_id]


def test_a_group_mapped_to_a_policy_tells_booking_its_members_rules(identity, scim, company):
    admin = key_creator(identity, company, email="rh@assureur.example")
    ana = identity.scim_create_user(caller=scim, body=okta_user("ana@okta.local", PASSWORD))
    bob = identity.scim_create_user(caller=scim, body=okta_user("bob@okta.local", PASSWORD))
    group = identity.scim_create_group(caller=scim, body=okta_group("Nomades Limousin",
                                                                   [ana["id"]]))
    relay = "7b0b7d2c-3c52-4c4a-9d1e-0a4f0e0d3b11"
    assert member_policies_published(ana["id"]) == []  # no policy yet: nothing to say
    policy = identity.set_group_policy(caller=admin, organisation_id=company["id"],
                                       group_id=group["id"], payload={
                                           "allowed_relays": "list", "relay_ids": [relay],
                                           "max_days_per_month": 8})
    assert (policy["group_name"], policy["relay_ids"]) == ("Nomades Limousin", [relay])
    rules = member_policies_published(ana["id"])[-1]
    assert [(r["name"], r["relay_ids"], r["max_days_per_month"]) for r in rules] == [
        ("Nomades Limousin", [relay], 8)]
    # A retried PUT publishes nothing new.
    identity.set_group_policy(caller=admin, organisation_id=company["id"],
                              group_id=group["id"], payload={
                                  "allowed_relays": "list", "relay_ids": [relay],
                                  "max_days_per_month": 8})
    assert len(member_policies_published(ana["id"])) == 1
    # Membership pushed by the provider: bob joins (gets the rules), ana leaves (none).
    identity.scim_patch_group(caller=scim, group_id=group["id"], body=patch(
        {"op": "add", "path": "members", "value": [{"value": bob["id"]}]},
        {"op": "remove", "path": f'members[value eq "{ana["id"]}"]'}))
    assert member_policies_published(ana["id"])[-1] == []
    assert member_policies_published(bob["id"])[-1][0]["name"] == "Nomades Limousin"
    listed = identity.list_groups(caller=admin, organisation_id=company["id"])
    assert [(g["display_name"], g["members"], g["policy"]["max_days_per_month"])
            for g in listed] == [("Nomades Limousin", 1, 8)]
    # Deleting the policy (or the group) gives the corporate policy back.
    identity.delete_group_policy(caller=admin, organisation_id=company["id"],
                                 group_id=group["id"])
    assert member_policies_published(bob["id"])[-1] == []
    refused(lambda: identity.get_group_policy(caller=admin, organisation_id=company["id"],
                                              group_id=group["id"]), "NotFound", "no-group-policy")
    # Only the organisation's admins map groups; a member cannot, nor can another company.
    refused(lambda: identity.set_group_policy(
        caller={"user_id": ana["id"], "organisation_id": company["id"], "roles": ["member"]},
        organisation_id=company["id"], group_id=group["id"], payload={}),
        "Forbidden", "")
    other = identity.create_organisation(caller=ADMIN, payload=dict(COMPANY, name="Autre"))
    stranger = key_creator(identity, other, email="admin@autre.example")
    refused(lambda: identity.list_groups(caller=stranger, organisation_id=company["id"]),
            "NotFound", "")
    refused(lambda: identity.set_group_policy(caller=stranger, organisation_id=other["id"],
                                              group_id=group["id"], payload={}),
            "NotFound", "")
