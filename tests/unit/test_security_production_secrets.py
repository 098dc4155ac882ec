"""Security: production refuses to start with a development secret (issue 13).
The check itself, then real component processes started the way k8s starts
them (with RELAIS_ENVIRONMENT=production) and refused before they connect."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from common.production import development_secrets, refuse_development_secrets

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"RELAIS_ENVIRONMENT": "production",
        "RELAIS_AMQP_URI": "amqp://booking:Zr8vQ2kLw9xY4mN7pT1s@rabbitmq:5672/",
        "RELAIS_IDEMPOTENCY_HMAC_KEY": "k" * 16 + "Q7w2e9r4t6y8u1i3",
        "POSTGRES_PASSWORD": "Hq3vN8mZ2kL7pW4x"}
K8S_PLACEHOLDERS = yaml.safe_load((ROOT / "deploy/k8s/secret.yaml").read_text())["stringData"]


def test_real_secrets_pass():
    assert development_secrets("booking", GOOD) == []
    refuse_development_secrets("booking", GOOD)


@pytest.mark.parametrize("name, value", [
    ("RELAIS_IDEMPOTENCY_HMAC_KEY", K8S_PLACEHOLDERS["idempotency-hmac-key"]),
    ("RELAIS_IDEMPOTENCY_HMAC_KEY", "relais-dev-idempotency-key-not-for-production"),
    ("RELAIS_IDEMPOTENCY_HMAC_KEY", "short"),
    ("POSTGRES_PASSWORD", K8S_PLACEHOLDERS["postgres-password"]),
    ("RELAIS_AMQP_URI", "amqp://relais:relais-dev@rabbitmq:5672/"),
    ("RELAIS_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
    ("RELAIS_JWT_PRIVATE_KEY", "REPLACE-ME-jwt"),
])
def test_each_development_value_is_refused_by_name(name, value):
    env = dict(GOOD, **{name: value})
    problems = development_secrets("booking", env)
    assert problems and any(name in problem for problem in problems)
    assert value not in " ".join(problems) or len(value) < 6  # names, never values
    with pytest.raises(SystemExit):
        refuse_development_secrets("booking", env)


def test_notify_needs_its_own_key_for_unsubscribe_links():
    assert development_secrets("notify", GOOD) == [
        "RELAIS_UNSUBSCRIBE_KEY is unset or shorter than 32 characters"]
    assert development_secrets("notify", dict(GOOD, RELAIS_UNSUBSCRIBE_KEY="u" * 32)) == []


def test_identity_needs_its_own_key_for_single_sign_on_secrets():
    assert development_secrets("identity", GOOD) == [
        "RELAIS_SSO_SECRET_KEY is unset or shorter than 32 characters"]
    assert development_secrets("identity", dict(GOOD, RELAIS_SSO_SECRET_KEY="s" * 32)) == []
    assert development_secrets("identity", dict(GOOD, RELAIS_SSO_SECRET_KEY=K8S_PLACEHOLDERS[
        "sso-secret-key"] + "-long-enough-to-pass-the-length"))


def test_identity_providers_on_loopback_are_for_development_only():
    assert development_secrets("identity", dict(
        GOOD, RELAIS_SSO_SECRET_KEY="s" * 32, RELAIS_SSO_ALLOW_LOOPBACK="1")) == [
        "RELAIS_SSO_ALLOW_LOOPBACK is on"]


def test_the_bootstrap_refuses_the_placeholder_admin_password():
    env = dict(GOOD, RELAIS_BOOTSTRAP_ADMIN_PASSWORD=K8S_PLACEHOLDERS["bootstrap-admin-password"])
    assert development_secrets("identity-bootstrap", env)
    assert development_secrets("identity-bootstrap",
                               dict(GOOD, RELAIS_BOOTSTRAP_ADMIN_PASSWORD="short-one"))


def test_the_web_pages_refuse_a_placeholder_or_missing_session_secret():
    real = "Zr8vQ2kLw9xY4mN7pT1sHq3vN8mZ2kL7"
    assert development_secrets("web", dict(GOOD, RELAIS_WEB_SECRET=real)) == []
    for env in (dict(GOOD, RELAIS_WEB_SECRET=K8S_PLACEHOLDERS["web-session-secret"]),
                dict(GOOD, RELAIS_WEB_SECRET="short"), GOOD):
        problems = development_secrets("web", env)
        assert problems and all("RELAIS_WEB_SECRET" in problem for problem in problems)


def test_development_is_not_checked():
    refuse_development_secrets("booking", {"RELAIS_AMQP_URI": "amqp://guest:guest@x/"})


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "common.run", "services.booking.service"],
    [sys.executable, "-m", "services.identity.bootstrap"],
    [sys.executable, "-m", "common.migrate", "booking"],
    [sys.executable, "-c", "import gateway.app"],
    [sys.executable, "-c", "import web.app"],
])
def test_a_component_started_with_placeholders_exits_before_connecting(command):
    env = dict(os.environ, RELAIS_ENVIRONMENT="production",
               RELAIS_AMQP_URI="amqp://relais:REPLACE-ME-rabbitmq-password@127.0.0.1:1/",
               RELAIS_DATABASE_URL="postgresql://relais:REPLACE-ME-postgres-password@127.0.0.1:1/x",
               RELAIS_IDEMPOTENCY_HMAC_KEY="REPLACE-ME-idempotency-hmac-key",
               RELAIS_BOOTSTRAP_ADMIN_PASSWORD="REPLACE-ME-bootstrap-admin-password",
               RELAIS_WEB_SECRET="REPLACE-ME-web-session-secret")
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "Refusing to start" in done.stderr and "REPLACE-ME" not in done.stderr, done.stderr


def test_kubernetes_runs_in_production_mode():
    config = yaml.safe_load((ROOT / "deploy/k8s/configmap.yaml").read_text())["data"]
    assert config["RELAIS_ENVIRONMENT"] == "production"
