"""Security: one customer's worst-case input does not stop identity for the
others (issue 13). Several SCIM creations and a CSV dry run carrying the input
that made the old e-mail pattern quadratic run at once against the real
service; meanwhile another company's employee logs in and the gateway's key
set is read, each within a few seconds. Before the fix one such request held
the service's only process for minutes."""
import time

import eventlet

from tests.integration.test_identity_service import (  # noqa: F401 (fixtures)
    PASSWORD, company, corporate_admin_of, employee, identity, key_creator,
)

WORST = "a@" + "." * (512 * 1024) + "@"
PATIENCE = 5  # seconds; a log-in costs ~0.1 s of argon2 here


def test_worst_case_inputs_do_not_stall_log_ins(identity, company, rpc):
    employee(identity, company)
    token = identity.create_scim_token(caller=key_creator(identity, company),
                                       organisation_id=company["id"], payload={"name": "IdP"})
    scim_caller = identity.authenticate_secret(secret=token["secret"])

    def scim_create():
        proxy = rpc("identity")
        started = time.monotonic()
        try:
            proxy.scim_create_user(caller=scim_caller, body={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": WORST})
        except Exception as refusal:  # the expected 400 invalidValue
            assert "invalidValue" in str(refusal)
        return time.monotonic() - started

    def csv_dry_run():
        proxy = rpc("identity")
        started = time.monotonic()
        report = proxy.import_users(caller=corporate_admin_of(company),
                                    organisation_id=company["id"],
                                    payload={"csv": "email,full_name\n" + WORST[:100_000] + ",A\n"},
                                    query={"dry_run": "true"})
        assert report["errors"] and report["errors"][0]["field"] == "email"
        return time.monotonic() - started

    attackers = [eventlet.spawn(scim_create) for _ in range(3)] + [eventlet.spawn(csv_dry_run)]
    login_proxy = rpc("identity")
    started = time.monotonic()
    tokens = login_proxy.issue_token(payload={"email": "dominique@assureur.example",
                                              "password": PASSWORD})
    assert login_proxy.jwks()["keys"]
    assert tokens["access_token"]
    assert time.monotonic() - started < PATIENCE
    assert all(attacker.wait() < PATIENCE for attacker in attackers)
