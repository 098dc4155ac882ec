"""Security: guessing costs the attacker, not the account's owner (issue 13).
Attempt limits are kept in Redis, shared by every gateway replica, and answered
429 with Retry-After. Clients are told apart by X-Forwarded-For (the e2e
network trusts one proxy hop, as production behind its ingress)."""
import os
import uuid

import redis

from tests.e2e.conftest import PASSWORD, assert_problem, corporate_account, unique


def log_in(anonymous, email, password, address):
    return anonymous.post("/v1/auth/token", json={"email": email, "password": password},
                          headers={"X-Forwarded-For": address})


def fail(times, send):
    """Send until ``times`` answers are 401 (a 504 of a loaded machine counts
    nothing, at the gateway as here)."""
    answers = []
    while answers.count(401) < times and len(answers) < 3 * times:
        answers.append(send().status_code)
    assert answers.count(401) == times and set(answers) <= {401, 504}, answers


def a_member(admin, network):
    company, hr = corporate_account(admin, network)
    email = f"{unique('owner')}@example.org"
    made = hr.post(f"/v1/organisations/{company['id']}/users",
                   json={"email": email, "full_name": "Owner", "password": PASSWORD})
    assert made.status_code == 201, made.text
    return company, hr, made.json()


def test_an_attacker_locks_only_themself_out(admin, network, anonymous):
    _, _, owner = a_member(admin, network)
    attacker = f"203.0.113.{uuid.uuid4().int % 250}"
    fail(5, lambda: log_in(anonymous, owner["email"], "wrong password!", attacker))
    locked = log_in(anonymous, owner["email"], PASSWORD, attacker)  # even the right one
    problem = assert_problem(locked, 429, "too-many-attempts")
    assert 1 <= int(locked.headers["Retry-After"]) <= 30
    assert problem["errors"]["retry_after_seconds"] == [int(locked.headers["Retry-After"])]
    # The owner, on their own client, is not concerned.
    assert log_in(anonymous, owner["email"], PASSWORD, "198.51.100.20").status_code == 200
    # Nothing in Redis names the address.
    keys = redis.Redis().keys(f"relais:e2e{os.environ.get('RELAIS_TEST_SLOT', '0')}:*")
    assert keys and not any(owner["email"].encode() in key for key in keys)


def test_one_client_trying_many_accounts_is_stopped(network, anonymous):
    attacker = f"203.0.114.{uuid.uuid4().int % 250}"
    addresses = iter(f"nobody{n}@example.org" for n in range(100))
    fail(30, lambda: log_in(anonymous, next(addresses), "wrong password!", attacker))
    refused = log_in(anonymous, "nobody-else@example.org", "wrong password!", attacker)
    assert_problem(refused, 429, "too-many-attempts")
    assert int(refused.headers["Retry-After"]) > 0


def test_invitation_mails_and_invitation_guesses_are_limited(admin, network, anonymous):
    company, hr = corporate_account(admin, network)
    invited = hr.post(f"/v1/organisations/{company['id']}/users",
                      json={"email": f"{unique('new')}@example.org", "full_name": "New"}).json()
    answers = [hr.post(f"/v1/users/{invited['id']}/invitation").status_code for _ in range(4)]
    assert answers[:3] == [200, 200, 200], answers
    assert answers[3] == 429
    guesser = f"203.0.115.{uuid.uuid4().int % 250}"
    fail(10, lambda: anonymous.post("/v1/auth/password", headers={"X-Forwarded-For": guesser},
                                    json={"token": "riv_" + uuid.uuid4().hex,
                                          "password": PASSWORD}))
    refused = anonymous.post("/v1/auth/password", headers={"X-Forwarded-For": guesser},
                             json={"token": "riv_" + uuid.uuid4().hex, "password": PASSWORD})
    assert_problem(refused, 429, "too-many-attempts")
