"""Single sign-on against a certified OpenID Provider (npm's oidc-provider,
tests/oidc/provider.mjs) started on loopback by these tests: the whole
authorization code flow through the gateway, then each way it must fail."""
import json
import os
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc.jwk import RSAKey

from services.identity import oidc

from tests.e2e.conftest import (
    ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, Client, assert_problem, corporate_account, mails_to,
    unique, wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
SLOT = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
PROVIDER_PORT = 28000 + 100 * SLOT + 93
ISSUER = f"http://127.0.0.1:{PROVIDER_PORT}"
CLIENT_SECRET = "a-client-secret-only-the-provider-and-identity-know"
DOMAIN = f"{unique('sso')}.example"
SPARE = "spare." + DOMAIN     # covered too, without anyone in it yet


def rsa_key(kid):
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"},
                               private=True).as_dict(private=True)


class OpenIdProvider:
    """oidc-provider in a node process, restartable with other keys."""

    def __init__(self, tmp_path, network):
        self.config_path = tmp_path / "provider.json"
        self.config = {
            "port": PROVIDER_PORT, "issuer": ISSUER, "jwks": {"keys": [rsa_key("first")]},
            "clients": [
                {"client_id": "relais", "client_secret": CLIENT_SECRET,
                 "redirect_uris": [network.gateway_url + "/v1/sso/callback",
                                   network.web_url + "/sso/callback"],
                 "response_types": ["code"], "grant_types": ["authorization_code"]},
                {"client_id": "another-application", "client_secret": CLIENT_SECRET,
                 "redirect_uris": ["http://127.0.0.1:9/callback"],
                 "response_types": ["code"], "grant_types": ["authorization_code"]}],
            "accounts": {
                "sub-camille": {"email": f"camille@{DOMAIN}", "email_verified": True},
                "sub-dominique": {"email": f"dominique@{DOMAIN}", "email_verified": True},
                "sub-leaving": {"email": f"leaving@{DOMAIN}", "email_verified": True},
                # the subject of another organisation's user, with an address here
                "sub-elsewhere": {"email": f"elsewhere@{DOMAIN}", "email_verified": True}},
        }
        self.process = None

    def start(self):
        self.config_path.write_text(json.dumps(self.config))
        self.process = subprocess.Popen(["node", str(ROOT / "tests/oidc/provider.mjs"),
                                         str(self.config_path)], cwd=ROOT / "tests/oidc",
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", PROVIDER_PORT), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the OpenID Provider did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="module")
def provider(tmp_path_factory, network):
    provider = OpenIdProvider(tmp_path_factory.mktemp("oidc"), network)
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def company(network, provider):
    """A company whose admin connected the provider, with provisioned people."""
    admin = Client(network.gateway_url).login(ADMIN_EMAIL, ADMIN_PASSWORD)
    company, hr = corporate_account(admin, network, "Mutuelle SSO")
    settings = hr.put(f"/v1/organisations/{company['id']}/sso", json={
        "issuer": ISSUER, "client_id": "relais", "client_secret": CLIENT_SECRET,
        "domains": [DOMAIN.upper(), SPARE]})
    assert settings.status_code == 200, settings.text
    people = {}
    for name, external_id in (("camille", "sub-camille"), ("dominique", None),
                              ("leaving", None)):
        user = hr.post(f"/v1/organisations/{company['id']}/users", json={
            "email": f"{name}@{DOMAIN}", "full_name": name.title(), "roles": ["member"],
            "password": PASSWORD, "external_id": external_id})
        assert user.status_code == 201, user.text
        people[name] = user.json()
    return company, hr, settings.json(), people


def sign_in(network, email, redirect_uri=None):
    """Start at the gateway, let the provider sign the person in; the URL the
    provider sends the browser back to (with code and state)."""
    query = {"email": email, **({"redirect_uri": redirect_uri} if redirect_uri else {})}
    started = requests.get(network.gateway_url + "/v1/sso/start", params=query,
                           allow_redirects=False, timeout=10)
    assert started.status_code == 302, started.text
    browser, url = requests.Session(), started.headers["Location"]
    callback = redirect_uri or network.gateway_url + "/v1/sso/callback"
    for _ in range(10):
        if url.startswith(callback):
            return url
        answer = browser.get(url, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text
        url = requests.compat.urljoin(url, answer.headers["Location"])
    raise AssertionError("the provider never sent the browser back")


def with_query(url, **changes):
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode(dict(query, **changes))))


def test_a_full_sign_in_gives_the_platforms_own_tokens(network, company):
    organisation, hr, settings, people = company
    assert settings["domains"] == sorted([DOMAIN, SPARE]) and settings["client_secret_set"] is True
    assert "client_secret" not in hr.get(f"/v1/organisations/{organisation['id']}/sso").json()
    assert settings["redirect_uris"] == [network.gateway_url + "/v1/sso/callback",
                                         network.web_url + "/sso/callback"]

    for name in ("camille", "dominique"):   # by subject, then by e-mail
        answer = requests.get(sign_in(network, f"{name}@{DOMAIN}"), timeout=10)
        assert answer.status_code == 200, answer.text
        tokens = answer.json()
        assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token",
                               "refresh_expires_in"}
        me = Client(network.gateway_url).bearer(tokens["access_token"])
        assert me.get(f"/v1/users/{people[name]['id']}").json()["email"] == f"{name}@{DOMAIN}"
        refreshed = requests.post(network.gateway_url + "/v1/auth/refresh", timeout=10,
                                  json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200


def test_discovery_tells_a_covered_domain_and_nothing_about_accounts(network, company):
    def discover(email):
        return requests.get(network.gateway_url + "/v1/sso/discover", params={"email": email},
                            timeout=10).json()

    assert discover(f"camille@{DOMAIN}") == {"sso": True, "passwords_allowed": True}
    assert discover(f"nobody-at-all@{DOMAIN}") == {"sso": True, "passwords_allowed": True}
    assert discover("someone@unknown-domain.example") == {"sso": False,
                                                          "passwords_allowed": True}


def test_a_wrong_state_is_refused(network, company):
    callback = sign_in(network, f"camille@{DOMAIN}")

    assert_problem(requests.get(with_query(callback, state="not-the-state"), timeout=10),
                   400, "sso-invalid-state")
    assert requests.get(callback, timeout=10).status_code == 200   # the right one still works


def test_a_replayed_callback_and_its_code_are_refused(network, company):
    callback = sign_in(network, f"camille@{DOMAIN}")
    assert requests.get(callback, timeout=10).status_code == 200

    assert_problem(requests.get(callback, timeout=10), 400, "sso-invalid-state")


def test_an_unknown_domain_has_no_single_sign_on(network, company):
    answer = requests.get(network.gateway_url + "/v1/sso/start", allow_redirects=False,
                          params={"email": "someone@unknown-domain.example"}, timeout=10)

    assert_problem(answer, 404, "no-sso-for-domain")


def test_only_relais_callbacks_are_redirect_uris(network, company):
    answer = requests.get(network.gateway_url + "/v1/sso/start", allow_redirects=False,
                          params={"email": f"camille@{DOMAIN}",
                                  "redirect_uri": "https://attacker.example/callback"},
                          timeout=10)

    assert_problem(answer, 422, "invalid-redirect-uri")


def test_a_deactivated_user_is_refused(network, company):
    organisation, hr, _, people = company
    assert hr.post(f"/v1/users/{people['leaving']['id']}/deactivate").status_code == 200

    assert_problem(requests.get(sign_in(network, f"leaving@{DOMAIN}"), timeout=10),
                   401, "sso-user-deactivated")


def test_another_organisations_user_with_the_same_subject_is_never_signed_in(
        admin, network, company):
    other, other_hr = corporate_account(admin, network, "Autre")
    created = other_hr.post(f"/v1/organisations/{other['id']}/users", json={
        "email": f"{unique('ailleurs')}@example.org", "full_name": "Ailleurs",
        "roles": ["member"], "password": PASSWORD, "external_id": "sub-elsewhere"})
    assert created.status_code == 201, created.text

    assert_problem(requests.get(sign_in(network, f"elsewhere@{DOMAIN}"), timeout=10),
                   401, "sso-no-account")


def test_a_provider_key_rotation_is_followed(network, company, provider):
    assert requests.get(sign_in(network, f"camille@{DOMAIN}"), timeout=10).status_code == 200
    provider.stop()
    provider.config["jwks"] = {"keys": [rsa_key("rotated")]}   # the old key is gone
    provider.start()
    time.sleep(1.1)   # RELAIS_SSO_JWKS_REFETCH_SECONDS: an unknown key id is fetched again

    answer = requests.get(sign_in(network, f"camille@{DOMAIN}"), timeout=10)
    assert answer.status_code == 200, answer.text


def test_an_id_token_for_another_audience_is_refused(network, company, provider, monkeypatch):
    """The provider's real ID token for another of its clients: identity's
    check (services/identity/oidc.py, Authlib) refuses it for Relais's client."""
    monkeypatch.setenv("RELAIS_SSO_ALLOW_LOOPBACK", "1")
    endpoints = oidc.discover(ISSUER)
    other = oidc.Client(ISSUER, "another-application", endpoints["token_endpoint"],
                        endpoints["jwks_uri"])
    verifier = "v" * 64
    browser = requests.Session()
    url = with_query(endpoints["authorization_endpoint"], response_type="code",
                     client_id="another-application", redirect_uri="http://127.0.0.1:9/callback",
                     scope="openid email", state="s" * 20, nonce="n" * 20,
                     code_challenge=create_s256_code_challenge(verifier),
                     code_challenge_method="S256", login_hint=f"camille@{DOMAIN}")
    while not url.startswith("http://127.0.0.1:9/"):
        url = requests.compat.urljoin(url, browser.get(url, allow_redirects=False,
                                                       timeout=10).headers["Location"])
    code = parse_qs(urlsplit(url).query)["code"][0]
    answer = oidc.exchange_code(other, CLIENT_SECRET, code, verifier,
                                "http://127.0.0.1:9/callback")
    assert oidc.verify_id_token(other, answer["id_token"], "n" * 20)["sub"] == "sub-camille"

    relais = oidc.Client(ISSUER, "relais", endpoints["token_endpoint"], endpoints["jwks_uri"])
    with pytest.raises(oidc.ProviderError) as refused:
        oidc.verify_id_token(relais, answer["id_token"], "n" * 20)
    assert refused.value.code == "sso-token-invalid"


def test_a_domain_belongs_to_one_organisation(admin, network, company):
    other, other_hr = corporate_account(admin, network, "Concurrente")
    path = f"/v1/organisations/{other['id']}/sso"
    settings = {"issuer": ISSUER, "client_id": "relais", "client_secret": CLIENT_SECRET}

    assert_problem(other_hr.put(path, json=dict(settings, domains=["x." + DOMAIN, SPARE])),
                   409, "sso-domain-taken")
    # nor one where another organisation has people (the company's, the network's admin)
    for domain in (DOMAIN, "e2e.example"):
        assert_problem(other_hr.put(path, json=dict(settings, domains=[domain])),
                       409, "sso-domain-used-elsewhere")
    assert other_hr.get(path).status_code == 404


def test_without_local_passwords_a_password_log_in_points_to_single_sign_on(network, company):
    organisation, hr, _, _ = company
    assert Client(network.gateway_url).login(f"dominique@{DOMAIN}", PASSWORD)
    path = f"/v1/organisations/{organisation['id']}/sso"
    settings = hr.put(path, json={"issuer": ISSUER, "client_id": "relais",
                                  "domains": [DOMAIN, SPARE], "passwords_allowed": False})
    assert settings.status_code == 200, settings.text
    try:
        answer = requests.post(network.gateway_url + "/v1/auth/token", timeout=10,
                               json={"email": f"dominique@{DOMAIN}", "password": PASSWORD})
        assert "/v1/sso/start" in assert_problem(answer, 403, "sso-required")["detail"]
        # said only to whoever knows the password: nothing about who has an account
        for email, password in ((f"dominique@{DOMAIN}", "not-" + PASSWORD),
                                (f"nobody-at-all@{DOMAIN}", PASSWORD)):
            answer = requests.post(network.gateway_url + "/v1/auth/token", timeout=10,
                                   json={"email": email, "password": password})
            assert_problem(answer, 401, "invalid-credentials")
        assert requests.get(sign_in(network, f"dominique@{DOMAIN}"), timeout=10).ok

        # nor can an invitation link set one (the link stays unused)
        invitee = f"{unique('invitee')}@{DOMAIN}"
        assert hr.post(f"/v1/organisations/{organisation['id']}/users",
                       json={"email": invitee, "full_name": "Invitée SSO"}).status_code == 201
        (mail,) = wait_for(lambda: mails_to(network, invitee))
        token = next(w for w in mail["text"].split() if "#token=" in w).split("#token=")[1]
        anonymous = Client(network.gateway_url)
        refused = anonymous.post("/v1/auth/password", json={"token": token, "password": PASSWORD})
        assert "/v1/sso/start" in assert_problem(refused, 403, "sso-required")["detail"]
        answer = requests.post(network.gateway_url + "/v1/auth/token", timeout=10,
                               json={"email": invitee, "password": PASSWORD})
        assert_problem(answer, 401, "invalid-credentials")   # no password was set
    finally:
        assert hr.put(path, json={"issuer": ISSUER, "client_id": "relais",
                                  "domains": [DOMAIN, SPARE]}).status_code == 200


def test_the_web_pages_offer_the_company_account_and_log_the_person_in(network, company):
    browser = requests.Session()
    page = browser.get(network.web_url + "/login", params={"email": f"camille@{DOMAIN}"},
                       timeout=10).text
    assert "Se connecter avec le compte de votre entreprise" in page
    assert "compte de votre entreprise" not in browser.get(
        network.web_url + "/login", params={"email": "someone@unknown-domain.example"},
        timeout=10).text

    answer = browser.get(network.web_url + "/sso/start", allow_redirects=False, timeout=10,
                         params={"email": f"camille@{DOMAIN}", "next": "/profile"})
    url = answer.headers["Location"]
    while not url.startswith(network.web_url):     # the provider signs the person in
        url = requests.compat.urljoin(url, browser.get(url, allow_redirects=False,
                                                       timeout=10).headers["Location"])
    assert url.startswith(network.web_url + "/sso/callback?")

    # a link to that callback opened in another browser is refused (log-in CSRF)
    stranger = requests.Session().get(url, allow_redirects=False, timeout=10)
    assert stranger.headers["Location"] == "/login"

    landed = browser.get(url, timeout=10)
    assert landed.url == network.web_url + "/profile" and landed.status_code == 200
    assert "Camille" in landed.text
