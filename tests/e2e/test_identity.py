"""Identity over HTTP: log-in, refresh, log-out, bad tokens, API keys, CSV
import, invitations and deactivation mails through notify."""
import time
import uuid

import jwt
import pytest
from sqlalchemy import create_engine, text

from services.identity import tokens
from tests.e2e.conftest import (
    ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, Client, assert_problem, corporate_account, mails_to,
    unique, wait_for,
)


def signing_key(network):
    engine = create_engine(network.database_url("identity"))
    with engine.connect() as conn:
        pem = conn.execute(text("SELECT private_pem FROM signing_keys LIMIT 1")).scalar_one()
    engine.dispose()
    return pem


def forged(network, **claims):
    """A token signed with identity's real key, with the claims given."""
    pem = signing_key(network)
    now = int(time.time())
    body = {"iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "sub": str(uuid.uuid4()),
            "org": None, "roles": ["network_admin"], "iat": now, "exp": now + 60}
    body.update(claims)
    return jwt.encode(body, tokens._private_key(pem), algorithm="EdDSA",
                      headers={"kid": tokens.key_id(pem)})


def test_log_in_refresh_and_log_out(network, anonymous):
    tokens_ = Client(network.gateway_url).login(ADMIN_EMAIL, ADMIN_PASSWORD).tokens
    assert tokens_["expires_in"] == 900 and tokens_["refresh_token"].startswith("rrt_")

    renewed = anonymous.post("/v1/auth/refresh", json={"refresh_token": tokens_["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    new = renewed.json()
    assert Client(network.gateway_url).bearer(new["access_token"]).get(
        "/v1/organisations").status_code == 200

    reused = anonymous.post("/v1/auth/refresh", json={"refresh_token": tokens_["refresh_token"]})
    assert_problem(reused, 401, "refresh-token-reused")
    assert_problem(anonymous.post("/v1/auth/refresh", json={"refresh_token": new["refresh_token"]}),
                   401, "invalid-refresh-token")

    other = Client(network.gateway_url).login(ADMIN_EMAIL, ADMIN_PASSWORD).tokens
    out = anonymous.post("/v1/auth/logout", json={"refresh_token": other["refresh_token"]})
    assert out.status_code == 204 and out.content == b""
    assert_problem(anonymous.post("/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}),
                   401, "invalid-refresh-token")


def test_the_lock_out_answers_429_with_retry_after(anonymous):
    email = f"{unique('guess')}@example.org"
    for _ in range(5):
        assert_problem(anonymous.post("/v1/auth/token", json={"email": email, "password": "x"}),
                       401, "invalid-credentials")
    locked = anonymous.post("/v1/auth/token", json={"email": email, "password": "x"})
    body = assert_problem(locked, 429, "too-many-attempts")
    assert 1 <= int(locked.headers["Retry-After"]) <= 31
    assert body["errors"]["retry_after_seconds"]


@pytest.mark.parametrize("claims, code", [
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}, "token-expired"),
    ({"aud": "someone-else"}, "invalid-audience"),
    ({"iss": "not-identity"}, "invalid-token"),
])
def test_expired_foreign_or_wrongly_issued_tokens_are_401(network, anonymous, claims, code):
    anonymous.bearer(forged(network, **claims))
    body = assert_problem(anonymous.get("/v1/organisations"), 401, code)
    assert body["detail"]


def test_a_tampered_token_is_401(network, anonymous):
    token = Client(network.gateway_url).login(ADMIN_EMAIL, ADMIN_PASSWORD).tokens["access_token"]
    header, payload, signature = token.split(".")
    # Same header and signature, claims of someone else: the signature no longer matches.
    other = forged(network).split(".")[1]
    assert_problem(anonymous.bearer(f"{header}.{other}.{signature}").get("/v1/organisations"),
                   401, "invalid-token")
    none_alg = jwt.encode({"sub": "x", "aud": "relais"}, key=None, algorithm="none")
    assert_problem(anonymous.bearer(none_alg).get("/v1/organisations"), 401, "invalid-token")


def test_an_api_key_works_until_revoked(network, admin, anonymous):
    company, hr = corporate_account(admin, network)
    created = hr.post(f"/v1/organisations/{company['id']}/api-keys",
                      json={"name": "SIRH", "roles": ["corporate_admin"]})
    assert created.status_code == 201, created.text
    key = created.json()
    machine = Client(network.gateway_url).bearer(key["secret"])

    users = machine.get(f"/v1/organisations/{company['id']}/users")
    assert users.status_code == 200, users.text
    assert [u["roles"] for u in users.json()] == [["corporate_admin"]]
    made = machine.post(f"/v1/organisations/{company['id']}/users",
                        json={"email": f"{unique('sirh')}@example.org", "full_name": "Par le SIRH"})
    assert made.status_code == 201, made.text
    listed = hr.get(f"/v1/organisations/{company['id']}/api-keys").json()
    assert listed[0]["last_used_at"] and "secret" not in listed[0]

    revoked = hr.delete(f"/v1/organisations/{company['id']}/api-keys/{key['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    # The gateway's cache holds a positive answer RELAIS_SECRET_CACHE_SECONDS (1 s here).
    refused = wait_for(lambda: machine.get(f"/v1/organisations/{company['id']}/users")
                       .status_code == 401, timeout=3)
    assert refused
    assert_problem(machine.get(f"/v1/organisations/{company['id']}/users"), 401, "invalid-token")
    assert_problem(Client(network.gateway_url).bearer("rlk_" + "x" * 43).get("/v1/organisations"),
                   401, "invalid-token")


def test_a_csv_file_is_checked_then_imported_once(network, admin):
    company, hr = corporate_account(admin, network)
    path = f"/v1/organisations/{company['id']}/users/import"
    alice, bruno = f"{unique('alice')}@example.org", f"{unique('bruno')}@example.org"
    bad = f"email;full_name\n{alice};Alice\nbruno-at-example;Bruno\n".encode()
    dry = hr.post(path, params={"dry_run": "true"}, data=bad,
                  headers={"Content-Type": "text/csv; charset=utf-8"})
    assert dry.status_code == 200, dry.text
    assert dry.json()["errors"] == [{"line": 3, "field": "email",
                                     "message": "'bruno-at-example' is not an e-mail address."}]
    good = f"email;full_name\n{alice};Alice\n{bruno};Bruno\n".encode()
    first = hr.post(path, data=good, headers={"Content-Type": "text/csv"}).json()
    again = hr.post(path, data=good, headers={"Content-Type": "text/csv"}).json()
    assert (first["applied"], first["created"]) == (True, 2)
    assert (again["created"], again["unchanged"]) == (0, 2)
    assert_problem(hr.post(path, json={"csv": "x"}), 415, "unsupported-media-type")
    # Both were invited by mail.
    assert wait_for(lambda: mails_to(network, alice) and mails_to(network, bruno))


def test_an_invited_employee_sets_a_password_then_logs_in(network, admin, anonymous):
    company, hr = corporate_account(admin, network)
    email = f"{unique('invitee')}@example.org"
    assert hr.post(f"/v1/organisations/{company['id']}/users",
                   json={"email": email, "full_name": "Camille Invitée"}).status_code == 201
    (mail,) = wait_for(lambda: mails_to(network, email))
    assert "Camille Invitée" in mail["text"]
    link = next(word for word in mail["text"].split() if "#token=riv_" in word)
    token = link.split("#token=")[1]

    done = anonymous.post("/v1/auth/password", json={"token": token, "password": PASSWORD})
    assert done.status_code == 200, done.text
    assert done.json()["password_set"] is True
    Client(network.gateway_url).login(email, PASSWORD)
    assert_problem(anonymous.post("/v1/auth/password", json={"token": token, "password": PASSWORD}),
                   401, "invalid-invitation")
    # The secret link went to the mailbox only: the delivery log keeps the subject,
    # and no event (identity's outbox keeps them for days) ever held it.
    deliveries = admin.get("/v1/deliveries", params={"limit": 200}).json()
    assert token not in str(deliveries)
    engine = create_engine(network.database_url("identity"))
    with engine.connect() as conn:
        leaked = conn.execute(text("SELECT count(*) FROM outbox WHERE envelope::text LIKE "
                                   "'%riv\\_%' OR envelope::text LIKE '%#token=%'")).scalar_one()
    engine.dispose()
    assert leaked == 0


def test_an_admin_can_send_a_new_invitation_and_the_old_link_dies(network, admin, anonymous):
    company, hr = corporate_account(admin, network)
    email = f"{unique('lent')}@example.org"
    user = hr.post(f"/v1/organisations/{company['id']}/users",
                   json={"email": email, "full_name": "Lou Lent"}).json()
    (first,) = wait_for(lambda: mails_to(network, email))

    again = hr.post(f"/v1/users/{user['id']}/invitation")
    assert again.status_code == 200, again.text
    assert set(again.json()) == {"user_id", "invitation_expires_at"}  # never the link
    mails = wait_for(lambda: len(mails_to(network, email)) == 2 and mails_to(network, email))
    old, new = (next(w for w in m["text"].split() if "#token=" in w).split("#token=")[1]
                for m in (first, [m for m in mails if m["text"] != first["text"]][0]))
    assert_problem(anonymous.post("/v1/auth/password", json={"token": old, "password": PASSWORD}),
                   401, "invalid-invitation")
    assert anonymous.post("/v1/auth/password", json={"token": new, "password": PASSWORD}
                          ).status_code == 200
    assert_problem(hr.post(f"/v1/users/{user['id']}/invitation"), 409, "password-already-set")


def test_no_secret_reaches_a_log_line(network, admin, anonymous):
    """Passwords, hashes, refresh tokens, API keys, SCIM tokens and invitation
    links are in no log file of any component, whatever happened before."""
    company, hr = corporate_account(admin, network)
    secrets = [PASSWORD, hr.tokens["refresh_token"], hr.tokens["access_token"]]
    secrets.append(hr.post(f"/v1/organisations/{company['id']}/api-keys", json={
        "name": "k", "roles": ["corporate_admin"]}).json()["secret"])
    secrets.append(hr.post(f"/v1/organisations/{company['id']}/scim-tokens",
                           json={"name": "t"}).json()["secret"])
    email = f"{unique('secret')}@example.org"
    hr.post(f"/v1/organisations/{company['id']}/users", json={"email": email, "full_name": "S"})
    (mail,) = wait_for(lambda: mails_to(network, email))
    secrets.append(next(w for w in mail["text"].split() if "#token=" in w).split("#token=")[1])
    # Failures log too: a wrong password, a bad key, a reused refresh token.
    anonymous.post("/v1/auth/token", json={"email": email, "password": "wrong-" + PASSWORD})
    Client(network.gateway_url).bearer(secrets[3] + "x").get("/v1/organisations")
    anonymous.post("/v1/auth/refresh", json={"refresh_token": secrets[1]})
    anonymous.post("/v1/auth/refresh", json={"refresh_token": secrets[1]})
    time.sleep(0.5)
    logs = "".join(path.read_text(errors="replace")
                   for path in (network.var_dir / "log").glob("*.log"))
    assert logs, "the components write logs"
    for secret in secrets + ["$argon2id$"]:
        assert secret not in logs


def test_a_deactivated_employee_is_told_and_locked_out(network, admin):
    company, hr = corporate_account(admin, network)
    email = f"{unique('partant')}@example.org"
    user = hr.post(f"/v1/organisations/{company['id']}/users",
                   json={"email": email, "full_name": "Sam Partant", "password": PASSWORD}).json()
    member = Client(network.gateway_url).login(email, PASSWORD)

    done = hr.post(f"/v1/users/{user['id']}/deactivate")
    assert done.status_code == 200 and done.json()["active"] is False

    (mail,) = wait_for(lambda: mails_to(network, email))
    assert "fermé" in mail["subject"]
    assert_problem(Client(network.gateway_url).post("/v1/auth/token", json={
        "email": email, "password": PASSWORD}), 401, "invalid-credentials")
    assert_problem(member.post("/v1/auth/refresh", json={
        "refresh_token": member.tokens["refresh_token"]}), 401, "invalid-refresh-token")
    log = hr.get(f"/v1/organisations/{company['id']}/audit-log",
                 params={"action": "user.deactivated"}).json()
    assert [(e["target_id"], e["details"]) for e in log] == [(user["id"], {"via": "api"})]


def test_policy_and_profile_over_http(network, admin):
    company, hr = corporate_account(admin, network)
    policy = hr.put(f"/v1/organisations/{company['id']}/policy", json={
        "allowed_relays": "radius", "radius_km": 30, "max_days_per_month": 10})
    assert policy.status_code == 200, policy.text
    assert (policy.json()["allowed_relays"], policy.json()["radius_km"]) == ("radius", 30)
    body = assert_problem(hr.put(f"/v1/organisations/{company['id']}/policy", json={
        "allowed_relays": "list", "space_kinds": ["sauna"]}), 422, "validation-error")
    assert set(body["errors"]) == {"space_kinds.0"}

    me = hr.get("/v1/organisations").json()[0]
    assert me["id"] == company["id"]
    users = hr.get(f"/v1/organisations/{company['id']}/users").json()
    profile = hr.put(f"/v1/users/{users[0]['id']}/profile", json={
        "home_commune": "Felletin", "home_latitude": 45.8834, "home_longitude": 2.1744,
        "commute_km": 52, "commute_mode": "train"})
    assert profile.status_code == 200, profile.text
    assert (profile.json()["home_latitude"], profile.json()["home_longitude"]) == (45.88, 2.17)
    assert_problem(admin.get(f"/v1/users/{users[0]['id']}/profile"), 404, "not-found")


def test_the_openapi_document_lists_the_identity_endpoints(anonymous):
    spec = anonymous.get("/openapi.json").json()
    assert "text/csv" in spec["paths"]["/v1/organisations/{organisation_id}/users/import"][
        "post"]["requestBody"]["content"]
    assert "204" in spec["paths"]["/v1/auth/logout"]["post"]["responses"]
    assert "429" in spec["paths"]["/v1/auth/token"]["post"]["responses"]


def test_a_rotated_signing_key_is_picked_up_without_a_gateway_restart(network, anonymous):
    old_token = Client(network.gateway_url).login(ADMIN_EMAIL, ADMIN_PASSWORD).tokens[
        "access_token"]
    anonymous.get("/.well-known/jwks.json")  # the gateway holds the current key set
    engine = create_engine(network.database_url("identity"))
    pem = tokens.generate_private_pem()
    with engine.begin() as conn:
        # The network's first key is as old as the network (seconds or minutes):
        # age it as a key in service would be, so the new key below is the newest
        # published one whatever the time this test runs at.
        conn.execute(text("UPDATE signing_keys SET created_at = created_at - interval '1 hour'"))
        # As --rotate-key would, published long enough ago that it signs now.
        conn.execute(text("INSERT INTO signing_keys (kid, private_pem, created_at) "
                          "VALUES (:kid, :pem, now() - interval '2 minutes')"),
                     {"kid": tokens.key_id(pem), "pem": pem})
    engine.dispose()
    time.sleep(10.5)  # the gateway refreshes its key set at most every 10 s
    new_token = Client(network.gateway_url).login(ADMIN_EMAIL, ADMIN_PASSWORD).tokens[
        "access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == tokens.key_id(pem)
    for token in (new_token, old_token):  # the old key still verifies its tokens
        assert Client(network.gateway_url).bearer(token).get("/v1/organisations").status_code == 200
    kids = [key["kid"] for key in anonymous.get("/.well-known/jwks.json").json()["keys"]]
    assert tokens.key_id(pem) in kids and len(kids) >= 2
