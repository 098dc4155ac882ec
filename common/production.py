"""Production refuses to start with a development secret.

``RELAIS_ENVIRONMENT=production`` (k8s sets it; a laptop and the tests do
not) makes every component check its settings before it opens a connection:
no value may be a placeholder (``REPLACE-ME...`` of deploy/k8s/secret.yaml) or
one of the development defaults written in this repository (``relais-dev``,
RabbitMQ's ``guest``, the built-in idempotency key), the broker URL must be
set, the components that keep idempotency records need their own HMAC key of
at least 32 characters, notify as long a key to sign its unsubscribe links,
identity one to encrypt single sign-on client secrets, and no identity provider
may be reached over plain http on loopback.
The process exits with the list of what is wrong (names only, never values).
"""
import os

# Markers of the development values this repository writes down.
DEVELOPMENT_MARKERS = ("REPLACE-ME", "relais-dev", "guest:guest", "not-for-production",
                       "e2e-admin-password", "development-only")
# Variables that hold secrets without the RELAIS_ prefix (k8s builds URLs from them).
SECRET_VARIABLES = ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD")
MIN_KEY_LENGTH = 32
# The components whose RPCs keep Idempotency-Key records (common/db.py), and
# those that talk to the broker (migrations and the bootstrap do not).
KEEPS_IDEMPOTENCY = {"identity", "booking", "billing"}
NEEDS_BROKER = {"identity", "booking", "billing", "notify", "gateway"}


def is_production(environ=os.environ):
    return environ.get("RELAIS_ENVIRONMENT", "development") == "production"


def development_secrets(component, environ=os.environ):
    """What makes ``component``'s settings unfit for production (names only)."""
    problems = [f"{name} is a development value or placeholder"
                for name, value in sorted(environ.items())
                if (name.startswith("RELAIS_") or name in SECRET_VARIABLES)
                and any(marker in value for marker in DEVELOPMENT_MARKERS)]
    if component in NEEDS_BROKER and not environ.get("RELAIS_AMQP_URI"):
        problems.append("RELAIS_AMQP_URI is unset (the default is RabbitMQ's guest account)")
    if component in KEEPS_IDEMPOTENCY and \
            len(environ.get("RELAIS_IDEMPOTENCY_HMAC_KEY", "")) < MIN_KEY_LENGTH:
        problems.append(f"RELAIS_IDEMPOTENCY_HMAC_KEY is unset or shorter than "
                        f"{MIN_KEY_LENGTH} characters")
    if component == "notify" and \
            len(environ.get("RELAIS_UNSUBSCRIBE_KEY", "")) < MIN_KEY_LENGTH:
        problems.append(f"RELAIS_UNSUBSCRIBE_KEY is unset or shorter than "
                        f"{MIN_KEY_LENGTH} characters")
    # identity encrypts companies' single sign-on client secrets with it
    # (services/identity/sso_secrets.py): unset, it would use the development
    # key, which anyone can read in git
    if component == "identity" and \
            len(environ.get("RELAIS_SSO_SECRET_KEY", "")) < MIN_KEY_LENGTH:
        problems.append(f"RELAIS_SSO_SECRET_KEY is unset or shorter than "
                        f"{MIN_KEY_LENGTH} characters")
    # plain http to an identity provider on loopback: development and tests only
    if environ.get("RELAIS_SSO_ALLOW_LOOPBACK", "").lower() in ("1", "true", "yes", "on"):
        problems.append("RELAIS_SSO_ALLOW_LOOPBACK is on")
    # the web pages sign their session cookies with it: unset, they would use
    # the built-in development secret, which anyone can read in git
    if component == "web" and len(environ.get("RELAIS_WEB_SECRET", "")) < MIN_KEY_LENGTH:
        problems.append(f"RELAIS_WEB_SECRET is unset or shorter than {MIN_KEY_LENGTH} characters")
    password = environ.get("RELAIS_BOOTSTRAP_ADMIN_PASSWORD")
    if component == "identity-bootstrap" and password is not None and len(password) < 16:
        problems.append("RELAIS_BOOTSTRAP_ADMIN_PASSWORD is shorter than 16 characters")
    return problems


def refuse_development_secrets(component, environ=os.environ):
    """Exit (status 1, with the reasons) in production if a development secret is set."""
    if not is_production(environ):
        return
    problems = development_secrets(component, environ)
    if problems:
        raise SystemExit("Refusing to start " + component +
                         " in production: " + "; ".join(problems) + ".")
