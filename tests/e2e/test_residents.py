"""Residents over HTTP: sign up, verify the e-mail by the mailed link, log in;
a known address gets the same answer and a different mail; the gateway's
limits on sign-ups (services/identity/sign_ups.py, gateway/limits.py)."""
from tests.e2e.conftest import (
    PASSWORD, Client, assert_problem, corporate_account, mails_to, unique, wait_for,
)


def sign_up(anonymous, payload, client="198.51.100.7"):
    """Each test its own client: sign-ups are limited per client (10 an hour)."""
    return anonymous.post("/v1/residents/sign-up", json=payload,
                          headers={"X-Forwarded-For": client})


def resident(email, **extra):
    return dict({"email": email, "password": PASSWORD, "full_name": "Alix Martin",
                 "postcode": "23200", "commune": "Aubusson"}, **extra)


def comparable(response):
    """What an onlooker reads of an answer (the call id differs on every response)."""
    headers = {k: v for k, v in response.headers.items()
               if k.lower() not in ("x-call-id", "date", "content-length")}
    return response.status_code, response.json(), headers


def test_a_resident_signs_up_verifies_and_logs_in(network, anonymous):
    email = f"{unique('resident')}@example.org"
    answer = sign_up(anonymous, resident(email), "198.51.100.1")
    assert answer.status_code == 202, answer.text
    (mail,) = wait_for(lambda: mails_to(network, email))
    link = next(word for word in mail["text"].split() if "#token=rsu_" in word)
    token = link.split("#token=")[1]

    made = anonymous.post("/v1/residents/verify", json={"token": token})
    assert made.status_code == 201, made.text
    assert (made.json()["email"], made.json()["roles"]) == (email, ["member"])
    member = Client(network.gateway_url).login(email, PASSWORD)
    profile = member.get(f"/v1/users/{made.json()['id']}/profile").json()
    assert (profile["home_postcode"], profile["home_commune"]) == ("23200", "Aubusson")
    assert_problem(anonymous.post("/v1/residents/verify", json={"token": token}),
                   401, "invalid-sign-up-link")
    assert_problem(anonymous.post("/v1/residents/verify", json={"token": "rsu_forged"}),
                   401, "invalid-sign-up-link")


def test_a_known_address_gets_the_same_answer_and_a_mail_saying_so(network, admin, anonymous):
    company, hr = corporate_account(admin, network)
    known = f"{unique('known')}@example.org"
    assert hr.post(f"/v1/organisations/{company['id']}/users", json={
        "email": known, "full_name": "Dominique", "password": PASSWORD}).status_code == 201
    new = f"{unique('new')}@example.org"
    answers = [sign_up(anonymous, resident(address), "198.51.100.2") for address in (new, known)]
    assert comparable(answers[0]) == comparable(answers[1])
    assert answers[0].status_code == 202
    (told,) = wait_for(lambda: mails_to(network, known))
    assert "#token=" not in told["text"] and "déjà" in told["subject"]
    (invited,) = wait_for(lambda: mails_to(network, new))
    assert "#token=rsu_" in invited["text"]
    # The known account is untouched: its owner logs in with their own password.
    Client(network.gateway_url).login(known, PASSWORD)


def test_sign_ups_are_limited_per_address_whether_it_exists_or_not(network, anonymous):
    email = f"{unique('flood')}@example.org"
    for client in ("198.51.100.3", "198.51.100.4", "198.51.100.5"):
        assert sign_up(anonymous, resident(email), client).status_code == 202
    limited = sign_up(anonymous, resident(email), "198.51.100.6")
    assert_problem(limited, 429, "too-many-attempts")
    assert int(limited.headers["Retry-After"]) > 0
