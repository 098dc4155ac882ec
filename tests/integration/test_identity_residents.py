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
