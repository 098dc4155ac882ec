"""One RabbitMQ user per component, allowed only what that component does.

Each process that connects to the broker logs in as its own user
(``<prefix><component>``: ``relais-gateway``, ``relais-booking``... and
``relais-ops`` for the dead-letter tool; the web pages and the migrations never
connect). Its *configure / write / read* permissions name only the exchanges
and queues it declares, publishes to and consumes from, and its **topic
permissions** on ``nameko-rpc`` name the routing keys it may publish (the RPCs
it calls, replies) and bind (its own RPCs, its reply queue). So a compromised
consumer cannot read, purge or delete another service's queue, eavesdrop on
another service's requests, or send an RPC as the gateway.

What a publisher is, the broker proves: it refuses a message whose ``user_id``
property is not the user of the connection. Every Relais publisher sets it
(``user_id_of``), and every RPC entrypoint accepts a request only from the
users allowed to call it (``common.rpc``); every event consumer only from the
event's source, its own retries and the ops tool (``common.consumer``).

Names this module relies on (nameko 2.14 and ``common``): the RPC exchange
``nameko-rpc``; a service's RPC queue ``rpc-<service>`` bound ``<service>.*``;
reply queues ``rpc.reply-<service>-<uuid>`` bound ``<uuid>`` (the gateway's
``rpc.reply-gateway-<uuid>`` bound ``gateway-<uuid>``); event exchanges
``<source>.events``; handler queues ``evt-<source>-<type>--<service>.<method>``
with ``.retry.<ms>`` and ``.dead`` beside them, whose dead-lettering goes
through the default exchange (``amq.default``).

``python -m common.broker_users`` creates or updates the users and their
permissions through the management API (docker-compose's ``broker-users``
service, the k8s Job ``broker-users``); ``devtools.network`` and the test
fixtures call ``apply`` the same way.
"""
import os
import sys
from urllib.parse import quote, unquote, urlparse

import requests

from common import config
from common.production import is_production, refuse_development_secrets

RPC_EXCHANGE = "nameko-rpc"
SERVICES = ("identity", "booking", "billing", "notify")
COMPONENTS = ("gateway",) + SERVICES + ("ops",)
GATEWAY = "gateway"
OPS = "ops"

# Who does what on the broker. Tests check these tables against the services'
# own entrypoints (tests/unit/test_security_broker_users.py).
PUBLISHES_EVENTS = ("identity", "booking", "billing")
CONSUMES_EVENTS_OF = {
    "identity": (),
    "booking": ("identity",),
    "billing": ("billing", "booking", "identity"),  # billing renders its own final documents
    "notify": ("billing", "booking", "identity"),
}
# The RPCs a service calls on another (everything else is the gateway's).
CALLS = {
    "booking": ("billing.quote", "identity.get_profile"),
    "billing": ("booking.get_relay",),
    "notify": ("identity.issue_invitation_link", "identity.issue_sign_up_link",
               "billing.document_file"),
}

_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def user_name(component, user_prefix=None):
    return (config.broker_user_prefix() if user_prefix is None else user_prefix) + component


def user_id_of(amqp_uri):
    """The user a connection to ``amqp_uri`` logs in as: the ``user_id`` its
    messages carry (the broker refuses any other). Every node of a cluster
    setting names the same user."""
    return unquote(urlparse(config.broker_nodes(amqp_uri)[0]).username or "guest")


def with_user(amqp_uri, user, password):
    """``amqp_uri`` logged in as ``user`` (same hosts, ports and vhost; each
    node of a ``;``-separated cluster setting)."""
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}"

    def node_with_user(node):
        parts = urlparse(node)
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=f"{credentials}@{host}").geturl()
    return ";".join(node_with_user(node) for node in config.broker_nodes(amqp_uri))


def _any_of(*patterns):
    return "^(" + "|".join(patterns) + ")$"


def _escaped(name):
    return name.replace(".", r"\.")


def _own_queues(service):
    return [f"rpc-{service}", rf"rpc\.reply-{service}-{_UUID}",
            rf"evt-[a-z]+-[a-z]+\.[a-z_]+--{service}\.[a-z_0-9]+(\.retry\.[0-9]+|\.dead)?"]


def permissions(component):
    """``{"configure", "write", "read"}`` regexes of one component on its vhost."""
    if component == GATEWAY:
        replies = rf"rpc\.reply-gateway-{_UUID}"
        return {"configure": _any_of(replies), "write": _any_of(RPC_EXCHANGE, replies),
                "read": _any_of(RPC_EXCHANGE, replies)}
    if component == OPS:
        # show: read a dead-letter queue; replay: publish back to its handler
        # queue through the default exchange. Nothing to declare.
        return {"configure": "^$", "write": _any_of(r"amq\.default"),
                "read": _any_of(r"evt-[a-z]+-[a-z]+\.[a-z_]+--[a-z]+\.[a-z_0-9]+\.dead")}
    own_exchange = [_escaped(f"{component}.events")] if component in PUBLISHES_EVENTS else []
    sources = [_escaped(f"{source}.events") for source in CONSUMES_EVENTS_OF[component]]
    # Retry queues dead-letter through the default exchange, and failed events
    # are parked through it: only consumers need it.
    default_exchange = [r"amq\.default"] if sources else []
    queues = _own_queues(component)
    return {
        # its queues, and the exchange its outbox relay declares; the RPC
        # exchange and the sources' exchanges exist already (declare_exchanges)
        "configure": _any_of(*own_exchange, *queues),
        # publish to an exchange; bind a queue (write on the queue)
        "write": _any_of(RPC_EXCHANGE, *own_exchange, *default_exchange, *queues),
        # bind from an exchange; consume a queue
        "read": _any_of(RPC_EXCHANGE, *sources, *queues),
    }


def rpc_topic_permissions(component):
    """Routing keys on ``nameko-rpc``: ``write`` what it may publish, ``read``
    what it may bind a queue to. None for a component that never uses RPC."""
    if component == OPS:
        return None
    if component == GATEWAY:
        return {"write": _any_of(*(rf"{service}\.[a-z_0-9]+" for service in SERVICES)),
                "read": _any_of(rf"gateway-{_UUID}")}
    calls = [_escaped(call) for call in CALLS.get(component, ())]
    return {
        # replies go to the caller's reply key: a nameko proxy's uuid or the gateway's
        "write": _any_of(rf"(gateway-)?{_UUID}", *calls),
        "read": _any_of(rf"{component}\.\*", _UUID),
    }


def development_password(component):
    """The password of a component's user on a laptop and in the tests
    (``scripts/run``, the test networks); production refuses ``relais-dev``."""
    return f"relais-dev-{component}"


def development_passwords():
    return {component: development_password(component) for component in COMPONENTS}


class ManagementApi:
    """The few calls of RabbitMQ's HTTP API that set users and permissions."""

    def __init__(self, url, auth):
        self.url, self.http = url.rstrip("/"), requests.Session()
        self.http.auth = auth

    def put(self, path, body):
        response = self.http.put(self.url + path, json=body, timeout=10)
        response.raise_for_status()

    def put_users(self, passwords, user_prefix=None):
        """Every component's user, with ``passwords[component]``."""
        for component in COMPONENTS:
            # ops lists dead-letter queues through the management API
            self.put(f"/users/{quote(user_name(component, user_prefix), safe='')}",
                     {"password": passwords[component],
                      "tags": "management" if component == OPS else ""})

    def declare_exchanges(self, vhost):
        """The exchanges every component binds from, declared as nameko does,
        before any component starts: components bind to them without declaring
        them (common/rpc.py, DECLARE_EVENT_EXCHANGES), so no service needs the
        right to delete or redeclare another's."""
        for name in (RPC_EXCHANGE,) + tuple(f"{source}.events" for source in PUBLISHES_EVENTS):
            self.put(f"/exchanges/{quote(vhost, safe='')}/{quote(name, safe='')}",
                     {"type": "topic", "durable": True, "auto_delete": False})

    def grant(self, vhost, component, user_prefix):
        user, vhost = quote(user_name(component, user_prefix), safe=""), quote(vhost, safe="")
        self.put(f"/permissions/{vhost}/{user}", permissions(component))
        topics = rpc_topic_permissions(component)
        if topics:
            self.put(f"/topic-permissions/{vhost}/{user}", {"exchange": RPC_EXCHANGE, **topics})


def apply(api, vhost, passwords, user_prefix=None):
    """Declare the shared exchanges on ``vhost``, create (or update) every
    component's user with ``passwords[component]`` and grant its permissions.
    Idempotent: run it again to rotate a password (then restart the component)."""
    api.declare_exchanges(vhost)
    api.put_users(passwords, user_prefix)
    for component in COMPONENTS:
        api.grant(vhost, component, user_prefix)


def passwords_from_environment(environ=os.environ):
    """``RELAIS_BROKER_PASSWORD_<COMPONENT>`` for each component (k8s Secret,
    compose ``.env``); development passwords outside production."""
    found = {}
    for component in COMPONENTS:
        value = environ.get(f"RELAIS_BROKER_PASSWORD_{component.upper()}")
        if not value and is_production(environ):
            raise SystemExit(f"RELAIS_BROKER_PASSWORD_{component.upper()} is unset")
        found[component] = value or development_password(component)
    return found


def main(argv):
    """python -m common.broker_users: apply the users to ``RELAIS_BROKER_API``
    (``http://127.0.0.1:15672/api``) as ``RELAIS_BROKER_ADMIN_USER`` /
    ``RELAIS_BROKER_ADMIN_PASSWORD``, vhost ``RELAIS_BROKER_VHOST`` (``/``)."""
    refuse_development_secrets("broker-users")
    api = ManagementApi(config.env("BROKER_API", "http://127.0.0.1:15672/api"),
                        (config.env("BROKER_ADMIN_USER", "guest"),
                         config.env("BROKER_ADMIN_PASSWORD", "guest")))
    vhost = config.env("BROKER_VHOST", "/")
    apply(api, vhost, passwords_from_environment())
    print(f"broker users {', '.join(user_name(c) for c in COMPONENTS)} set on vhost {vhost}")


if __name__ == "__main__":
    main(sys.argv)
