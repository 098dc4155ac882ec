"""Settings read from the environment, the same way in every component.

Every variable is prefixed ``RELAIS_``; defaults suit the local machine (the
README's run command), and docker-compose / k8s set their own values.
"""
import os

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432"

SERVICE_HTTP_PORTS = {"identity": 8001, "booking": 8002, "billing": 8003, "notify": 8004}


def env(name, default=None):
    return os.environ.get("RELAIS_" + name, default)


def public_url():
    """Where people and partners reach Relais (invitation links, calendar feeds,
    SCIM locations). Always from configuration, never from a request's Host
    header, which the client chooses."""
    return env("PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/")


def api_public_url():
    """Where partners reach the HTTP API (SCIM locations, calendar feeds) when
    it has an address of its own (RELAIS_GATEWAY_PUBLIC_URL); else public_url()."""
    return (env("GATEWAY_PUBLIC_URL", "") or public_url()).rstrip("/")


def sso_redirect_uris():
    """Where a company's identity provider may send people back after single
    sign-on: the API's callback (tokens as JSON) and the web pages' (a web
    session). Both are registered at the provider (README)."""
    return [api_public_url() + "/v1/sso/callback", public_url() + "/sso/callback"]


def amqp_uri():
    """The broker, as ``amqp://user:pass@host:5672/vhost``. A cluster is
    several such URLs joined by ``;`` (``amqp://u:p@rabbit-0/;amqp://u:p@rabbit-1/``):
    every component connects to the first node that answers and moves to the
    next when its node goes away (kombu's failover for the services, the same
    list for the gateway's pika client: ``broker_nodes``)."""
    return env("AMQP_URI", DEFAULT_AMQP_URI)


def broker_nodes(uri):
    """The broker URLs of an ``AMQP_URI`` setting, in the order to try them."""
    return [part.strip() for part in uri.split(";") if part.strip()]


QUEUE_TYPES = ("classic", "quorum")


def queue_type():
    """``RELAIS_QUEUE_TYPE``: ``classic`` (one broker node, the default: the
    development and test broker) or ``quorum`` (a cluster: every durable queue
    replicated on a majority of nodes, so losing one node loses no message).
    See common/queues.py; production sets quorum."""
    value = env("QUEUE_TYPE", "classic")
    if value not in QUEUE_TYPES:
        raise SystemExit(f"RELAIS_QUEUE_TYPE is {value!r}: it must be one of {', '.join(QUEUE_TYPES)}")
    return value


def broker_user_prefix():
    """Broker users are ``<prefix><component>`` (common/broker_users.py):
    ``relais-`` unless a test network sets its own, since users belong to the
    whole broker, not to one vhost."""
    return env("BROKER_USER_PREFIX", "relais-")


def database_url(service):
    """Each service owns its own database: relais_<service> by default."""
    return psycopg2_url(env("DATABASE_URL") or env(
        service.upper() + "_DATABASE_URL", f"{DEFAULT_PG}/relais_{service}"
    ))


def psycopg2_url(url):
    """SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; Relais uses psycopg2,
    the driver psycogreen makes cooperative under eventlet."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def retry_delays_ms():
    """Backoff before each retry of a failed event handler; after the last one
    the event goes to the dead-letter queue."""
    raw = env("RETRY_DELAYS_MS", "500,5000,30000")
    return [int(part) for part in raw.split(",") if part.strip()]


def nameko_config(service):
    """The nameko container config for one service."""
    port = SERVICE_HTTP_PORTS.get(service, 8000)
    return {
        "AMQP_URI": amqp_uri(),
        "QUEUE_TYPE": queue_type(),
        "BROKER_USER_PREFIX": broker_user_prefix(),
        # Consumers bind to the sources' exchanges, declared once with the
        # broker users (common/broker_users.py): they may not redeclare them.
        "DECLARE_EVENT_EXCHANGES": False,
        "WEB_SERVER_ADDRESS": env("HTTP_ADDRESS", f"127.0.0.1:{port}"),
        "DATABASE_URL": database_url(service),
        "RETRY_DELAYS_MS": retry_delays_ms(),
        # The relay is woken by every commit that emitted; the poll is only a
        # safety net (a wake-up lost to a crash, a pass that failed).
        "OUTBOX_INTERVAL_SECONDS": float(env("OUTBOX_INTERVAL_SECONDS", "1.0")),
        # Passes of the outbox relay are at least this far apart: under load
        # one pass (one transaction, one confirm) carries several commits' events.
        "OUTBOX_MIN_GAP_SECONDS": float(env("OUTBOX_MIN_GAP_SECONDS", "0.05")),
        # The most events a batch consumer hands one worker (common.consumer.BatchEventHandler).
        "EVENT_BATCH_MAX": int(env("EVENT_BATCH_MAX", "100")),
        # RELAIS_<SERVICE>_MAX_WORKERS overrides RELAIS_MAX_WORKERS for one service.
        "max_workers": int(env(service.upper() + "_MAX_WORKERS") or env("MAX_WORKERS", "10")),
        "SMTP_HOST": env("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(env("SMTP_PORT", "1025")),
        "MAIL_FROM": env("MAIL_FROM", "Relais des Possibles <no-reply@relais.example>"),
    }
