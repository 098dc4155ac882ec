"""identity over real RPC and PostgreSQL: log-in, refresh-token rotation and
reuse detection, deactivation, invitations, policies, profiles, API
keys, CSV import, the audit log, and the events other services rely on."""
import json

import pytest
from nameko.exceptions import RemoteError

from services.identity.bootstrap import bootstrap
from services.identity.service import IdentityService
from tests.integration.conftest import ADMIN, database_url, rows

PASSWORD = "correct horse battery staple"
COMPANY = {"kind": "corporate", "name": "Assureur", "legal_name": "Assureur SA",
           "siret": "55208131766522", "billing_email": "compta@assureur.example"}


@pytest.fixture
def identity(start_service, rpc):
    bootstrap(database_url("identity"), None, None)  # a signing key
    start_service(IdentityService)
    return rpc("identity")


@pytest.fixture
def links(identity, rpc):
    """identity's invitation links, asked for as notify does (the only caller allowed)."""
    return rpc("identity", as_component="notify")


@pytest.fixture
def company(identity):
    return identity.create_organisation(caller=ADMIN, payload=COMPANY)


def corporate_admin_of(organisation):
    return {"user_id": "00000000-0000-4000-8000-0000000000c1",
            "organisation_id": organisation["id"], "roles": ["corporate_admin"]}


def key_creator(identity, organisation, roles=("corporate_admin",), relay_ids=(),
                email="admin@assureur.example"):
    """A real admin of ``organisation`` as a caller: a key lives only as long as
    its creator does (credentials.authenticate re-reads them)."""
    user = identity.create_user(caller=ADMIN, organisation_id=organisation["id"], payload={
        "email": email, "full_name": "Admin", "roles": list(roles),
        "relay_ids": list(relay_ids)})
    return {"user_id": user["id"], "organisation_id": organisation["id"], "roles": list(roles),
            "relay_ids": list(relay_ids)}


def employee(identity, company, email="dominique@assureur.example", password=PASSWORD):
    payload = {"email": email, "full_name": "Dominique Nomade"}
    if password:
        payload["password"] = password
    return identity.create_user(caller=ADMIN, organisation_id=company["id"], payload=payload)


def refused(call, exc_type, code):
    with pytest.raises(RemoteError) as error:
        call()
    assert error.value.exc_type == exc_type, error.value
    assert code in str(error.value), error.value
    return error.value


# Log-in, refresh, log-out ---------------------------------------------------------

def test_log_in_gives_an_access_token_and_a_single_use_refresh_token(identity, company):
    employee(identity, company)
    tokens = identity.issue_token(payload={"email": "Dominique@assureur.example",
                                           "password": PASSWORD})
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    assert tokens["refresh_token"].startswith("rrt_")

    renewed = identity.refresh_token(payload={"refresh_token": tokens["refresh_token"]})
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert renewed["access_token"] != tokens["access_token"]

    # The first one again: copied, so the whole family is closed, the new one too.
    refused(lambda: identity.refresh_token(payload={"refresh_token": tokens["refresh_token"]}),
            "Unauthorized", "refresh-token-reused")
    refused(lambda: identity.refresh_token(payload={"refresh_token": renewed["refresh_token"]}),
            "Unauthorized", "invalid-refresh-token")


def test_log_out_revokes_the_session_and_is_harmless_twice(identity, company):
    employee(identity, company)
    tokens = identity.issue_token(payload={"email": "dominique@assureur.example",
                                           "password": PASSWORD})
    identity.log_out(payload={"refresh_token": tokens["refresh_token"]})
    identity.log_out(payload={"refresh_token": tokens["refresh_token"]})
    refused(lambda: identity.refresh_token(payload={"refresh_token": tokens["refresh_token"]}),
            "Unauthorized", "invalid-refresh-token")


def identity_db():
    from sqlalchemy import create_engine
    return create_engine(database_url("identity"))


def test_the_password_policy_is_enforced(identity, company):
    error = refused(lambda: identity.create_user(caller=ADMIN, organisation_id=company["id"],
                                                 payload={"email": "jeanne@assureur.example",
                                                          "full_name": "Jeanne",
                                                          "password": "aaaaaaaaaaaaaaaa"}),
                    "InvalidInput", "weak-password")
    assert "different characters" in str(error)


# Deactivation ---------------------------------------------------------------------

def test_deactivation_closes_every_way_in_and_is_published_once(identity, company, listen):
    received = listen("identity", "identity.user_deactivated")
    user = employee(identity, company)
    tokens = identity.issue_token(payload={"email": user["email"], "password": PASSWORD})

    deactivated = identity.deactivate_user(caller=corporate_admin_of(company), user_id=user["id"])
    again = identity.deactivate_user(caller=ADMIN, user_id=user["id"])

    assert deactivated["active"] is False and deactivated["deactivated_at"]
    assert again["deactivated_at"] == deactivated["deactivated_at"]
    refused(lambda: identity.issue_token(payload={"email": user["email"], "password": PASSWORD}),
            "Unauthorized", "invalid-credentials")
    refused(lambda: identity.refresh_token(payload={"refresh_token": tokens["refresh_token"]}),
            "Unauthorized", "invalid-refresh-token")
    (event,) = received(1)
    assert event["data"] == {"user_id": user["id"], "organisation_id": company["id"],
                             "deactivated_at": event["data"]["deactivated_at"]}
    assert event["data"]["deactivated_at"].endswith("+00:00")
    assert received(1, timeout=0.5) == []  # the second deactivation published nothing


def test_a_member_cannot_deactivate_a_colleague(identity, company):
    user = employee(identity, company)
    colleague = {"user_id": "00000000-0000-4000-8000-0000000000c2",
                 "organisation_id": company["id"], "roles": ["member"]}
    refused(lambda: identity.deactivate_user(caller=colleague, user_id=user["id"]),
            "NotFound", "not-found")


# Invitations ---------------------------------------------------------------------------

def test_a_user_without_a_password_is_invited_once(identity, links, company, listen):
    received = listen("identity", "identity.user_provisioned")
    user = employee(identity, company, password=None)
    (event,) = received(1)
    data = event["data"]
    assert {k: data[k] for k in ("user_id", "organisation_id", "email", "full_name", "roles")} \
        == {"user_id": user["id"], "organisation_id": company["id"],
            "email": user["email"], "full_name": "Dominique Nomade", "roles": ["member"]}
    # The event names the invitation; the link is minted when notify asks for it.
    assert set(data) == {"user_id", "organisation_id", "email", "full_name", "roles",
                         "relay_ids", "locale", "invitation_id", "invitation_expires_at"}
    assert (data["locale"], data["relay_ids"]) == ("fr", [])
    assert "riv_" not in json.dumps(event)
    stale = links.issue_invitation_link(invitation_id=data["invitation_id"])
    link = links.issue_invitation_link(invitation_id=data["invitation_id"])
    assert link["invitation_expires_at"] == data["invitation_expires_at"]
    token = link["invitation_url"].split("#token=")[1]
    assert token.startswith("riv_")
    assert not rows(identity_db(), "SELECT 1 FROM invitations WHERE token_hash = :t", t=token)
    assert not rows(identity_db(), "SELECT 1 FROM outbox WHERE envelope::text LIKE '%riv_%'")
    assert user["password_set"] is False
    # Minting again replaced the first token: only the last link works.
    refused(lambda: identity.set_password(payload={
        "token": stale["invitation_url"].split("#token=")[1], "password": PASSWORD}),
        "Unauthorized", "invalid-invitation")

    weak = refused(lambda: identity.set_password(payload={"token": token,
                                                          "password": "dominique-nomade"}),
                   "InvalidInput", "weak-password")
    assert "e-mail" in str(weak)
    done = identity.set_password(payload={"token": token, "password": PASSWORD})
    assert done["password_set"] is True
    identity.issue_token(payload={"email": user["email"], "password": PASSWORD})
    refused(lambda: identity.set_password(payload={"token": token, "password": PASSWORD + "!"}),
            "Unauthorized", "invalid-invitation")
    # A used invitation mints no new link.
    refused(lambda: links.issue_invitation_link(invitation_id=data["invitation_id"]),
            "Conflict", "invitation-not-pending")


def test_a_password_set_by_scim_kills_invitations_and_sessions(identity, links, company, listen):
    creator = key_creator(identity, company)
    received = listen("identity", "identity.user_provisioned")
    token = identity.create_scim_token(caller=creator,
                                       organisation_id=company["id"], payload={"name": "IdP"})
    scim_caller = identity.authenticate_secret(secret=token["secret"])
    user = identity.scim_create_user(caller=scim_caller, body={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "sso@assureur.example"})
    (event,) = received(1)
    link = links.issue_invitation_link(invitation_id=event["data"]["invitation_id"])
    invitation_token = link["invitation_url"].split("#token=")[1]

    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "password", "value": PASSWORD}]}
    identity.scim_patch_user(caller=scim_caller, user_id=user["id"], body=patch)
    # The link mailed earlier cannot set the password again, nor be minted anew.
    refused(lambda: identity.set_password(payload={"token": invitation_token,
                                                   "password": PASSWORD + "!"}),
            "Unauthorized", "invalid-invitation")
    refused(lambda: links.issue_invitation_link(invitation_id=event["data"]["invitation_id"]),
            "Conflict", "invitation-not-pending")
    session = identity.issue_token(payload={"email": user["userName"], "password": PASSWORD})
    # Set again by the identity provider: the sessions opened with the old one end.
    identity.scim_patch_user(caller=scim_caller, user_id=user["id"], body=dict(
        patch, Operations=[{"op": "replace", "path": "password", "value": PASSWORD + " 2"}]))
    refused(lambda: identity.refresh_token(payload={"refresh_token": session["refresh_token"]}),
            "Unauthorized", "invalid-refresh-token")


def test_an_invitation_cannot_set_a_password_already_set(identity, links, company, listen):
    """Even a pending invitation whose user got a password meanwhile by another
    way (here, written directly as a migration or a bug might) is refused."""
    received = listen("identity", "identity.user_provisioned")
    user = employee(identity, company, password=None)
    (event,) = received(1)
    link = links.issue_invitation_link(invitation_id=event["data"]["invitation_id"])
    engine = identity_db()
    with engine.begin() as connection:
        from sqlalchemy import text
        connection.execute(text("UPDATE users SET password_hash = 'x' WHERE id = :id"),
                           {"id": user["id"]})
    refused(lambda: identity.set_password(payload={
        "token": link["invitation_url"].split("#token=")[1], "password": PASSWORD}),
        "Unauthorized", "invalid-invitation")


def test_a_user_with_a_password_gets_no_invitation(identity, company, listen):
    received = listen("identity", "identity.user_provisioned")
    employee(identity, company)
    (event,) = received(1)
    assert "invitation_id" not in event["data"]
    assert not rows(identity_db(), "SELECT 1 FROM invitations")


# Policies and profiles -----------------------------------------------------------

def test_a_policy_is_published_when_it_changes_only(identity, company, listen):
    received = listen("identity", "identity.policy_changed")
    relay = "7b0b7d2c-3c52-4c4a-9d1e-0a4f0e0d3b11"
    payload = {"allowed_relays": "list", "relay_ids": [relay], "max_days_per_month": 8,
               "booking_horizon_days": 30, "space_kinds": ["desk"],
               "monthly_budget_cents": 150000}
    admin = corporate_admin_of(company)
    policy = identity.set_policy(caller=admin, organisation_id=company["id"], payload=payload)
    identity.set_policy(caller=admin, organisation_id=company["id"], payload=payload)

    assert policy["relay_ids"] == [relay] and policy["updated_by"] == admin["user_id"]
    (event,) = received(1)
    assert event["data"] == {
        "organisation_id": company["id"], "allowed_relays": "list", "relay_ids": [relay],
        "radius_km": None, "max_days_per_month": 8, "booking_horizon_days": 30,
        "space_kinds": ["desk"], "monthly_budget_cents": 150000, "budget_per": "organisation"}
    assert received(1, timeout=0.5) == []
    member = {"user_id": "00000000-0000-4000-8000-0000000000c3",
              "organisation_id": company["id"], "roles": ["member"]}
    assert identity.get_policy(caller=member, organisation_id=company["id"])["max_days_per_month"] == 8
    refused(lambda: identity.set_policy(caller=member, organisation_id=company["id"],
                                        payload=payload), "Forbidden", "forbidden")


def test_a_policy_must_be_consistent(identity, company):
    error = refused(lambda: identity.set_policy(caller=ADMIN, organisation_id=company["id"],
                                                payload={"allowed_relays": "radius"}),
                    "InvalidInput", "validation-error")
    assert "radius_km" in str(error)


def test_a_profile_is_coarse_private_and_published(identity, company, listen):
    received = listen("identity", "identity.profile_changed")
    user = employee(identity, company)
    me = {"user_id": user["id"], "organisation_id": company["id"], "roles": ["member"]}
    profile = identity.set_profile(caller=me, user_id=user["id"], payload={
        "home_commune": "Aubusson", "home_latitude": 45.95712, "home_longitude": 2.16843,
        "usual_office": "Limoges, siège", "commute_km": 88.46, "commute_mode": "car"})
    assert (profile["home_latitude"], profile["home_longitude"], profile["commute_km"]) == \
        (45.96, 2.17, 88.5)
    (event,) = received(1)
    assert event["data"] == {"user_id": user["id"], "organisation_id": company["id"],
                             "home_commune": "Aubusson", "home_postcode": None,
                             "home_latitude": 45.96,
                             "home_longitude": 2.17, "usual_office": "Limoges, siège",
                             "commute_km": 88.5, "commute_mode": "car",
                             # the employee's own edit: no home a policy may trust
                             "policy_home_commune": None, "policy_home_latitude": None,
                             "policy_home_longitude": None}
    assert identity.get_profile(caller=corporate_admin_of(company), user_id=user["id"]) == profile
    # Not even network staff read where an employee lives.
    refused(lambda: identity.get_profile(caller=ADMIN, user_id=user["id"]), "NotFound",
            "not-found")


# API keys ---------------------------------------------------------------------------

def test_an_api_key_is_shown_once_stored_hashed_and_revocable(identity, company):
    admin = key_creator(identity, company)
    created = identity.create_api_key(caller=admin, organisation_id=company["id"],
                                      payload={"name": "SIRH", "roles": ["corporate_admin"]})
    secret = created["secret"]
    assert secret.startswith("rlk_")
    listed = identity.list_api_keys(caller=admin, organisation_id=company["id"])
    assert [key["id"] for key in listed] == [created["id"]]
    assert "secret" not in listed[0] and secret not in json.dumps(listed)
    assert not rows(identity_db(), "SELECT 1 FROM machine_credentials WHERE secret_hash = :s",
                    s=secret)

    context = identity.authenticate_secret(secret=secret)
    assert context == {"user_id": created["id"], "organisation_id": company["id"],
                       "roles": ["corporate_admin"], "relay_ids": [], "credential": "api_key"}
    assert identity.list_api_keys(caller=admin, organisation_id=company["id"])[0]["last_used_at"]

    identity.revoke_api_key(caller=admin, organisation_id=company["id"], key_id=created["id"])
    refused(lambda: identity.authenticate_secret(secret=secret), "Unauthorized", "invalid-token")


def test_an_api_key_never_has_more_than_its_creator(identity, company):
    refused(lambda: identity.create_api_key(
        caller=corporate_admin_of(company), organisation_id=company["id"],
        payload={"name": "ops", "roles": ["network_ops"]}), "Forbidden", "forbidden")


# CSV import ---------------------------------------------------------------------------

GOOD_CSV = ("email;given_name;family_name;external_id;active\n"
            "ana@assureur.example;Ana;Lopes;E1;oui\n"
            "marc@assureur.example;Marc;Petit;E2;true\n")


def test_a_csv_dry_run_reports_every_bad_row_and_changes_nothing(identity, company):
    text = ("email,full_name,active\n"
            "ana@assureur.example,Ana Lopes,yes\n"
            "not-an-email,Marc,yes\n"
            ",,maybe\n"
            "ana@assureur.example,Ana again,yes\n")
    report = identity.import_users(caller=corporate_admin_of(company),
                                   organisation_id=company["id"], payload={"csv": text},
                                   query={"dry_run": "true"})
    assert report["applied"] is False
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (3, "email"), (4, "email"), (4, "full_name"), (4, "active"), (5, "email")]
    # A real run with bad rows refuses the whole file.
    real = identity.import_users(caller=ADMIN, organisation_id=company["id"],
                                 payload={"csv": text})
    assert real["applied"] is False and real["errors"] == report["errors"]
    assert identity.list_users(caller=ADMIN, organisation_id=company["id"]) == []


def test_a_csv_import_twice_changes_nothing_the_second_time(identity, company, listen):
    received = listen("identity", "identity.user_provisioned")
    admin = corporate_admin_of(company)
    first = identity.import_users(caller=admin, organisation_id=company["id"],
                                  payload={"csv": "\ufeff" + GOOD_CSV})
    second = identity.import_users(caller=admin, organisation_id=company["id"],
                                   payload={"csv": GOOD_CSV})
    assert (first["applied"], first["created"], first["errors"]) == (True, 2, [])
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 2)
    assert len(received(3, timeout=2)) == 2
    users = identity.list_users(caller=admin, organisation_id=company["id"])
    assert sorted((u["email"], u["full_name"], u["external_id"], u["provisioned_via"])
                  for u in users) == [
        ("ana@assureur.example", "Ana Lopes", "E1", "csv"),
        ("marc@assureur.example", "Marc Petit", "E2", "csv")]


def test_a_csv_row_with_active_false_deactivates(identity, company, listen):
    received = listen("identity", "identity.user_deactivated")
    admin = corporate_admin_of(company)
    identity.import_users(caller=admin, organisation_id=company["id"], payload={"csv": GOOD_CSV})
    report = identity.import_users(caller=admin, organisation_id=company["id"], payload={
        "csv": GOOD_CSV.replace("E2;true", "E2;non")})
    assert (report["deactivated"], report["unchanged"]) == (1, 1)
    (event,) = received(1)
    marc = identity.list_users(caller=admin, organisation_id=company["id"],
                               query={"email": "marc@assureur.example"})[0]
    assert event["data"]["user_id"] == marc["id"] and marc["active"] is False


# Audit log ---------------------------------------------------------------------------

def test_administrative_changes_are_in_the_audit_log_without_secrets(identity, company):
    admin = corporate_admin_of(company)
    user = employee(identity, company)
    key = identity.create_api_key(caller=admin, organisation_id=company["id"],
                                  payload={"name": "SIRH", "roles": ["corporate_admin"]})
    identity.deactivate_user(caller=admin, user_id=user["id"])
    entries = identity.list_audit_entries(caller=admin, organisation_id=company["id"])
    assert [(e["action"], e["actor_id"]) for e in entries] == [
        ("user.deactivated", admin["user_id"]), ("api_key.created", admin["user_id"]),
        ("user.provisioned", ADMIN["user_id"]), ("organisation.created", ADMIN["user_id"])]
    assert entries[2]["target_id"] == user["id"]
    text = json.dumps(entries)
    assert key["secret"] not in text and PASSWORD not in text and "argon2" not in text
    ops = {"user_id": "00000000-0000-4000-8000-0000000000d1",
           "organisation_id": ADMIN["organisation_id"], "roles": ["network_ops"]}
    assert len(identity.list_audit_entries(caller=ops, organisation_id=company["id"])) == 4


def test_roles_follow_the_kind_of_organisation(identity, company):
    error = refused(lambda: identity.create_user(
        caller=corporate_admin_of(company), organisation_id=company["id"],
        payload={"email": "rm@assureur.example", "full_name": "R", "roles": ["relay_manager"]}),
        "InvalidInput", "validation-error")
    assert "relay_manager" in str(error)
    refused(lambda: identity.create_user(
        caller=ADMIN, organisation_id=company["id"],
        payload={"email": "ops@assureur.example", "full_name": "O", "roles": ["network_ops"]}),
        "InvalidInput", "validation-error")


def test_a_relay_managers_key_reaches_only_their_relays(identity):
    operator = identity.create_organisation(caller=ADMIN, payload={
        "kind": "relay_operator", "name": "Association du Relais"})
    relay, other = "7b0b7d2c-3c52-4c4a-9d1e-0a4f0e0d3b11", "8c1c8e3d-4d63-4d5b-8e2f-1b5f1f1e4c22"
    manager = key_creator(identity, operator, ["relay_manager"], [relay],
                          email="gerant@relais.example")
    key = identity.create_api_key(caller=manager, organisation_id=operator["id"], payload={
        "name": "Caisse du relais", "roles": ["relay_manager"], "relay_ids": [relay]})
    assert identity.authenticate_secret(secret=key["secret"])["relay_ids"] == [relay]
    refused(lambda: identity.create_api_key(
        caller=manager, organisation_id=operator["id"],
        payload={"name": "x", "roles": ["relay_manager"], "relay_ids": [relay, other]}),
        "Forbidden", "forbidden")
    refused(lambda: identity.create_api_key(
        caller=manager, organisation_id=operator["id"],
        payload={"name": "x", "roles": ["relay_manager"]}),
        "InvalidInput", "validation-error")


def test_a_new_key_signs_only_once_published_and_old_keys_retire(databases):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy.orm import Session

    from services.identity import bootstrap as boot, sessions
    from services.identity.models import SigningKey

    def newest(session):
        return session.query(SigningKey).order_by(SigningKey.created_at.desc()).first()

    with Session(databases["identity"]) as session, session.begin():
        first = boot._new_key(datetime.now(timezone.utc) - timedelta(days=60))
        session.add(first)
        session.flush()
        boot.rotate_signing_key(session)
        session.flush()
        # The new key is published at once, but the first one still signs.
        assert len(sessions.jwks(session)["keys"]) == 2
        assert sessions.current_signing_key(session) == first.private_pem
        # A month on (the second key has signed for long), rotate again: the
        # first key's tokens have all expired, so it goes; the second stays.
        second = newest(session)
        second.created_at = datetime.now(timezone.utc) - timedelta(days=30)
        assert sessions.current_signing_key(session) == second.private_pem
        boot.rotate_signing_key(session)
        session.flush()
        kids = {key.kid for key in session.query(SigningKey)}
        assert first.kid not in kids and second.kid in kids and len(kids) == 2


def test_a_user_provisioned_inactive_is_invited_when_activated(identity, links, company, listen):
    creator = key_creator(identity, company)
    invited = listen("identity", "identity.invitation_issued")
    provisioned = listen("identity", "identity.user_provisioned")
    token = identity.create_scim_token(caller=creator,
                                       organisation_id=company["id"], payload={"name": "IdP"})
    scim_caller = identity.authenticate_secret(secret=token["secret"])
    user = identity.scim_create_user(caller=scim_caller, body={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "later@assureur.example", "active": False})
    (event,) = provisioned(1)
    assert "invitation_id" not in event["data"]  # nobody to invite yet

    identity.scim_patch_user(caller=scim_caller, user_id=user["id"], body={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": True}]})
    (event,) = invited(1)
    assert event["data"]["user_id"] == user["id"]
    link = links.issue_invitation_link(invitation_id=event["data"]["invitation_id"])
    assert link["invitation_url"].split("#token=")[1].startswith("riv_")


def test_a_csv_file_grants_only_roles_the_caller_may_grant(identity, company):
    """A relay manager once imported themselves as corporate_admin: the CSV
    import now applies the same rule as create_user (accounts.check_grantable)."""
    operator = identity.create_organisation(caller=ADMIN, payload={
        "kind": "relay_operator", "name": "Association du Relais"})
    relay = "7b0b7d2c-3c52-4c4a-9d1e-0a4f0e0d3b11"
    me = identity.create_user(caller=ADMIN, organisation_id=operator["id"], payload={
        "email": "gerant@relais.example", "full_name": "Gérant", "roles": ["relay_manager"],
        "relay_ids": [relay], "password": PASSWORD})
    manager = {"user_id": me["id"], "organisation_id": operator["id"],
               "roles": ["relay_manager"], "relay_ids": [relay]}
    text = ("email;full_name;role\n"
            "gerant@relais.example;Gérant;corporate_admin\n"
            "benevole@relais.example;Bénévole;member\n")
    for dry_run in ("true", "false"):
        report = identity.import_users(caller=manager, organisation_id=operator["id"],
                                       payload={"csv": text}, query={"dry_run": dry_run})
        assert report["applied"] is False
        assert [(e["line"], e["field"]) for e in report["errors"]] == [(2, "role")]
        assert report["errors"][0]["message"] == (
            "A relay operator organisation's users hold only member, relay_manager.")
    assert identity.get_user(caller=ADMIN, user_id=me["id"])["roles"] == ["relay_manager"]



def test_only_a_person_creates_api_keys_and_scim_tokens(identity, company):
    key = identity.create_api_key(caller=key_creator(identity, company),
                                  organisation_id=company["id"],
                                  payload={"name": "SIRH", "roles": ["corporate_admin"]})
    as_key = identity.authenticate_secret(secret=key["secret"])
    assert as_key["credential"] == "api_key"
    error = refused(lambda: identity.create_api_key(
        caller=as_key, organisation_id=company["id"],
        payload={"name": "child", "roles": ["corporate_admin"]}), "Forbidden", "person-required")
    assert "Only a person" in str(error)
    refused(lambda: identity.create_scim_token(caller=as_key, organisation_id=company["id"],
                                               payload={"name": "IdP"}),
            "Forbidden", "person-required")
    # The key still does what keys are for.
    assert identity.list_api_keys(caller=as_key, organisation_id=company["id"])[0]["id"] \
        == key["id"]


def test_an_idempotency_key_is_scoped_to_the_organisation_and_stored_keyed(identity, company):
    import hashlib

    from common.db import hash_request
    other = identity.create_organisation(caller=ADMIN, payload=dict(
        COMPANY, name="Autre", siret="73282932000074"))
    payload = {"email": "dominique@assureur.example", "full_name": "Dominique Nomade",
               "password": PASSWORD}
    first = identity.create_user(caller=ADMIN, organisation_id=company["id"], payload=payload,
                                 idempotency_key="same-key")
    again = identity.create_user(caller=ADMIN, organisation_id=company["id"], payload=payload,
                                 idempotency_key="same-key")
    assert again == first
    # The same key and body sent for another organisation is another request: it
    # must not return the first organisation's user.
    refused(lambda: identity.create_user(caller=ADMIN, organisation_id=other["id"],
                                         payload=payload, idempotency_key="same-key"),
            "Conflict", "email-taken")
    (row,) = rows(identity_db(), "SELECT request_hash FROM idempotency_keys")
    bare = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    assert row["request_hash"] == hash_request(payload) != bare
