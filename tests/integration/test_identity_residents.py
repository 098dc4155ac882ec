"""Residents sign up on their own, over real RPC and PostgreSQL: the same
answer for a new address and a known one, the verification link minted at
send time, single use, expiring, unforgeable, and the individual account it
makes (services/identity/sign_ups.py)."""
import json

import pytest
from sqlalchemy import create_engine

from tests.integration.conftest import ADMIN, database_url, rows
from tests.integration.test_identity_service import (  # noqa: F401 (fixtures)
    COMPANY, PASSWORD, company, employee, identity, links, refused,
)

RESIDENT = {"email": "Alix.Martin@exemple.fr", "password": PASSWORD, "full_name": "Alix Martin",
            "postcode": "23200", "commune": "Aubusson"}


def identity_db():
    return create_engine(database_url("identity"))


def signed_up(identity, listen, payload=RESIDENT):
    """Sign up; the event identity published for notify."""
    received = listen("identity", "identity.sign_up_requested")
    answer = identity.sign_up(payload=payload)
    (event,) = received(1)
    return answer, event["data"]


def token_of(link):
    return link["verification_url"].split("#token=")[1]


def test_a_new_address_and_a_known_one_get_the_same_answer(identity, company, listen):
    employee(identity, company, email="dominique@assureur.example")
    new, new_event = signed_up(identity, listen)
    known, known_event = signed_up(identity, listen, dict(RESIDENT,
                                                          email="Dominique@assureur.example"))
    assert new == known == {"status": "check-your-mail", "detail": new["detail"]}
    # Only the mail differs, which only the address's owner reads.
    assert (new_event["account_exists"], known_event["account_exists"]) == (False, True)
    assert set(new_event) == {"sign_up_id", "email", "full_name", "locale", "account_exists",
                              "expires_at"}
    # Both cost an argon2 hash; the password is kept only as a hash, and only
    # for the new address.
    stored = rows(identity_db(), "SELECT email, password_hash, existing_user_id FROM sign_ups "
                                 "ORDER BY created_at")
    assert stored[0]["password_hash"].startswith("$argon2id$")
    assert stored[1]["password_hash"] is None and stored[1]["existing_user_id"]
    assert PASSWORD not in json.dumps(rows(identity_db(), "SELECT envelope FROM outbox")[-1],
                                      default=str)
    # The policy is the same for everyone, and checked before the address is looked up.
    for email in ("nouvelle@exemple.fr", "dominique@assureur.example"):
        refused(lambda: identity.sign_up(payload=dict(RESIDENT, email=email,
                                                      password="aaaaaaaaaaaa")),
                "InvalidInput", "weak-password")


def test_the_link_makes_an_individual_account_that_logs_in(identity, links, listen):
    _, data = signed_up(identity, listen)
    provisioned = listen("identity", "identity.user_provisioned")
    profiles = listen("identity", "identity.profile_changed")
    stale = links.issue_sign_up_link(sign_up_id=data["sign_up_id"])
    link = links.issue_sign_up_link(sign_up_id=data["sign_up_id"])
    assert link["expires_at"] == data["expires_at"]
    token = token_of(link)
    assert token.startswith("rsu_")
    assert not rows(identity_db(), "SELECT 1 FROM sign_ups WHERE token_hash = :t", t=token)
    assert not rows(identity_db(), "SELECT 1 FROM outbox WHERE envelope::text LIKE '%rsu_%'")
    # Only the last link minted works (notify retried).
    refused(lambda: identity.verify_email(payload={"token": token_of(stale)}),
            "Unauthorized", "invalid-sign-up-link")

    user = identity.verify_email(payload={"token": token})
    assert (user["email"], user["roles"], user["password_set"], user["provisioned_via"]) == \
        (RESIDENT["email"], ["member"], True, "sign_up")
    organisation = identity.get_organisation(caller=ADMIN,
                                             organisation_id=user["organisation_id"])
    assert (organisation["kind"], organisation["name"]) == ("individual", "Alix Martin")
    (event,) = provisioned(1)
    assert "invitation_id" not in event["data"]  # the password was chosen at sign-up
    (profile,) = profiles(1)
    assert (profile["data"]["home_postcode"], profile["data"]["home_commune"]) == \
        ("23200", "Aubusson")
    identity.issue_token(payload={"email": "alix.martin@exemple.fr", "password": PASSWORD})

    # Single use: the same link again, and no new one for a used sign-up.
    refused(lambda: identity.verify_email(payload={"token": token}),
            "Unauthorized", "invalid-sign-up-link")
    refused(lambda: links.issue_sign_up_link(sign_up_id=data["sign_up_id"]),
            "Conflict", "sign-up-not-pending")


def test_an_expired_or_forged_link_opens_nothing(identity, links, listen):
    _, data = signed_up(identity, listen)
    token = token_of(links.issue_sign_up_link(sign_up_id=data["sign_up_id"]))
    for forged in ("rsu_" + "A" * 43, token[:-1] + ("A" if token[-1] != "A" else "B"), "x"):
        refused(lambda: identity.verify_email(payload={"token": forged}),
                "Unauthorized", "invalid-sign-up-link")
    with identity_db().begin() as conn:
        conn.exec_driver_sql("UPDATE sign_ups SET expires_at = now() - interval '1 second'")
    refused(lambda: identity.verify_email(payload={"token": token}),
            "Unauthorized", "invalid-sign-up-link")
    refused(lambda: links.issue_sign_up_link(sign_up_id=data["sign_up_id"]),
            "Conflict", "sign-up-not-pending")
    assert not rows(identity_db(), "SELECT 1 FROM users WHERE provisioned_via = 'sign_up'")


def test_a_known_address_gets_no_link_and_a_race_makes_one_account(identity, links, company,
                                                                    listen):
    employee(identity, company, email="dominique@assureur.example")
    _, known = signed_up(identity, listen, dict(RESIDENT, email="dominique@assureur.example"))
    refused(lambda: links.issue_sign_up_link(sign_up_id=known["sign_up_id"]),
            "Conflict", "sign-up-not-pending")
    # Two sign-ups of one new address: the first verified makes the account.
    _, first = signed_up(identity, listen)
    _, second = signed_up(identity, listen)
    identity.verify_email(payload={"token": token_of(
        links.issue_sign_up_link(sign_up_id=first["sign_up_id"]))})
    refused(lambda: identity.verify_email(payload={"token": token_of(
        links.issue_sign_up_link(sign_up_id=second["sign_up_id"]))}), "Conflict", "email-taken")


def test_only_notify_mints_sign_up_links(identity, listen):
    _, data = signed_up(identity, listen)
    with pytest.raises(Exception):
        identity.issue_sign_up_link(sign_up_id=data["sign_up_id"])


# Programmes -----------------------------------------------------------------------

PROGRAMME = {"kind": "programme", "name": "Diabète Creuse", "legal_name": "Département de la Creuse",
             "siret": "22230001400019", "billing_email": "compta@creuse.example",
             "billing_address": "4 place Louis Lacrocq, 23000 Guéret"}


def programme_admin_of(identity, programme, email):
    user = identity.create_user(caller=ADMIN, organisation_id=programme["id"], payload={
        "email": email, "full_name": "Admin du programme", "roles": ["programme_admin"],
        "password": PASSWORD})
    return {"user_id": user["id"], "organisation_id": programme["id"],
            "roles": ["programme_admin"]}


def resident_of(identity, links, listen, email="alix.martin@exemple.fr"):
    _, data = signed_up(identity, listen, dict(RESIDENT, email=email))
    user = identity.verify_email(payload={"token": token_of(
        links.issue_sign_up_link(sign_up_id=data["sign_up_id"]))})
    return user, {"user_id": user["id"], "organisation_id": user["organisation_id"],
                  "roles": ["member"]}


def test_a_programme_enrols_an_address_before_it_signs_up_and_booking_hears_of_it(
        identity, links, listen):
    programme = identity.create_organisation(caller=ADMIN, payload=PROGRAMME)
    admin = programme_admin_of(identity, programme, "coordination@creuse.example")
    grant = identity.set_programme(caller=admin, organisation_id=programme["id"], payload={
        "funder": "departement", "space_kinds": ["desk"], "communes": ["Aubusson"],
        "max_hours_per_month": 8, "valid_from": "2026-01-01", "valid_until": "2027-12-31"})
    assert (grant["max_hours_per_month"], grant["per_person_reports"]) == (8, False)
    # The answer is the same for an address with or without an account.
    enrolment = identity.enrol_resident(caller=admin, organisation_id=programme["id"],
                                        payload={"email": "Alix.Martin@exemple.fr"})
    assert (enrolment["email"], enrolment["via"]) == ("alix.martin@exemple.fr", "admin")
    assert identity.enrol_resident(caller=admin, organisation_id=programme["id"],
                                   payload={"email": "alix.martin@exemple.fr"}) == enrolment
    heard = listen("identity", "identity.member_programmes_changed")
    user, _ = resident_of(identity, links, listen)
    (event,) = heard(1)
    assert event["data"]["user_id"] == user["id"]
    assert (event["data"]["home_commune"], event["data"]["home_postcode"]) == \
        ("Aubusson", "23200")
    (rules,) = event["data"]["programmes"]
    assert (rules["programme_id"], rules["communes"], rules["space_kinds"],
            rules["max_hours_per_month"], rules["valid_until"]) == \
        (programme["id"], ["Aubusson"], ["desk"], 8, "2027-12-31")
    # Ending it tells booking at once.
    identity.end_enrolment(caller=admin, organisation_id=programme["id"],
                           enrolment_id=enrolment["id"])
    (event,) = heard(1)
    assert event["data"]["programmes"] == []


def test_a_resident_joins_with_the_code_and_only_residents_may(identity, links, listen, company):
    programme = identity.create_organisation(caller=ADMIN, payload=PROGRAMME)
    admin = programme_admin_of(identity, programme, "coordination@creuse.example")
    code = identity.issue_programme_code(caller=admin, organisation_id=programme["id"])["code"]
    assert code.startswith("rpg_")
    assert not rows(identity_db(), "SELECT 1 FROM programmes WHERE code_hash = :c", c=code)
    _, me = resident_of(identity, links, listen)
    refused(lambda: identity.join_programme(caller=me, payload={"code": code + "x"}),
            "NotFound", "invalid-programme-code")
    joined = identity.join_programme(caller=me, payload={"code": code})
    assert joined["via"] == "code"
    staff = employee(identity, company)
    refused(lambda: identity.join_programme(caller={
        "user_id": staff["id"], "organisation_id": company["id"], "roles": ["member"]},
        payload={"code": code}), "Forbidden", "resident-only")
    # A new code retires the old one.
    identity.issue_programme_code(caller=admin, organisation_id=programme["id"])
    refused(lambda: identity.join_programme(caller=me, payload={"code": code}),
            "NotFound", "invalid-programme-code")


def test_a_programme_admin_sees_nothing_of_another_programme(identity, company):
    first = identity.create_organisation(caller=ADMIN, payload=PROGRAMME)
    second = identity.create_organisation(caller=ADMIN, payload=dict(PROGRAMME, name="Région"))
    mine = programme_admin_of(identity, first, "a@creuse.example")
    theirs = programme_admin_of(identity, second, "b@region.example")
    identity.enrol_resident(caller=theirs, organisation_id=second["id"],
                            payload={"email": "camille@exemple.fr"})
    for call in (
            lambda: identity.list_enrolments(caller=mine, organisation_id=second["id"]),
            lambda: identity.get_programme(caller=mine, organisation_id=second["id"]),
            lambda: identity.enrol_resident(caller=mine, organisation_id=second["id"],
                                            payload={"email": "x@exemple.fr"}),
            lambda: identity.list_users(caller=mine, organisation_id=second["id"])):
        refused(call, "NotFound", "not-found")
    assert identity.list_enrolments(caller=mine, organisation_id=first["id"]) == []
    # A company is no programme, and a programme admin grants no corporate role.
    refused(lambda: identity.get_programme(caller=ADMIN, organisation_id=company["id"]),
            "NotFound", "not-a-programme")
    refused(lambda: identity.create_user(caller=mine, organisation_id=first["id"], payload={
        "email": "c@creuse.example", "full_name": "C", "roles": ["corporate_admin"]}),
        "InvalidInput", "")
