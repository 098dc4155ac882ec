"""Issue 13: the broker users' tables match what the services really do, and
every RPC entrypoint checks who published the request. (What the broker and
the services refuse is proved against RabbitMQ in
tests/integration/test_security_broker_users.py.)"""
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

from common import broker_users
from common.consumer import ReliableEventHandler
from common.rpc import CallerCheckedRpc
from contracts.events import EVENTS, source_of

UUID = "0b6c3f5e-2f4d-4c1a-9a7e-3d2b1c0f9e8d"
ROOT = Path(__file__).resolve().parents[2]


def service_class(name):
    module = importlib.import_module(f"services.{name}.service")
    return next(value for value in vars(module).values()
                if isinstance(value, type) and getattr(value, "name", None) == name)


def entrypoints(name):
    cls = service_class(name)
    for attribute in dir(cls):
        for entrypoint in getattr(getattr(cls, attribute), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            yield attribute, entrypoint


@pytest.mark.parametrize("service", broker_users.SERVICES)
def test_every_rpc_of_every_service_checks_its_publisher(service):
    rpcs = [(method, ep) for method, ep in entrypoints(service) if isinstance(ep, Rpc)]
    assert rpcs
    unchecked = [method for method, ep in rpcs if not isinstance(ep, CallerCheckedRpc)]
    assert unchecked == [], f"{service}: use common.rpc.rpc, not nameko's"


def test_the_rpcs_services_call_are_exactly_those_their_callee_accepts_from_them():
    accepted = {(caller, f"{service}.{method}")
                for service in broker_users.SERVICES
                for method, ep in entrypoints(service) if isinstance(ep, CallerCheckedRpc)
                for caller in ep.callers if caller != broker_users.GATEWAY}
    declared = {(caller, call) for caller, calls in broker_users.CALLS.items() for call in calls}
    assert accepted == declared


def test_the_event_tables_match_the_consumers_and_the_contracts():
    for service in broker_users.SERVICES:
        sources = {ep.source_service for _, ep in entrypoints(service)
                   if isinstance(ep, ReliableEventHandler)}
        assert sources == set(broker_users.CONSUMES_EVENTS_OF[service]), service
    assert {source_of(event_type) for event_type in EVENTS} == set(broker_users.PUBLISHES_EVENTS)


def allowed(component, kind, name):
    return re.fullmatch(broker_users.permissions(component)[kind], name) is not None


def test_a_service_is_allowed_its_own_queues_only():
    own = ["rpc-billing", f"rpc.reply-billing-{UUID}",
           "evt-booking-booking.confirmed--billing.on_booking_confirmed",
           "evt-booking-booking.confirmed--billing.on_booking_confirmed.retry.500",
           "evt-booking-booking.confirmed--billing.on_booking_confirmed.dead"]
    others = ["rpc-booking", f"rpc.reply-booking-{UUID}", f"rpc.reply-gateway-{UUID}",
              "evt-identity-identity.user_deactivated--booking.on_user_deactivated",
              "evt-identity-identity.user_deactivated--booking.on_user_deactivated.dead",
              "evt-booking-booking.confirmed--billing.on_booking_confirmed--x.y"]
    for kind in ("configure", "write", "read"):
        assert all(allowed("billing", kind, name) for name in own), kind
        assert not any(allowed("billing", kind, name) for name in others), kind
    # publishes to its own events exchange only; declares no exchange but its own
    assert allowed("billing", "write", "billing.events")
    assert not allowed("billing", "write", "booking.events")
    assert not any(allowed("billing", "configure", name)
                   for name in ("nameko-rpc", "booking.events", "identity.events"))
    # a service that consumes no event may not use the default exchange
    assert not allowed("identity", "write", "amq.default")


def test_the_gateway_and_ops_are_allowed_what_they_do_and_nothing_else():
    assert allowed("gateway", "write", "nameko-rpc")
    assert allowed("gateway", "configure", f"rpc.reply-gateway-{UUID}")
    assert not any(allowed("gateway", kind, name) for kind in ("configure", "write", "read")
                   for name in ("rpc-booking", "amq.default", "booking.events"))
    assert allowed("ops", "read", "evt-booking-booking.confirmed--billing.on_booking_confirmed.dead")
    assert not allowed("ops", "read", "evt-booking-booking.confirmed--billing.on_booking_confirmed")
    assert not allowed("ops", "read", "rpc-booking")
    assert broker_users.permissions("ops")["configure"] == "^$"


def routing(component, kind, key):
    return re.fullmatch(broker_users.rpc_topic_permissions(component)[kind], key) is not None


def test_on_the_rpc_exchange_a_service_publishes_replies_and_its_own_calls_only():
    assert routing("gateway", "write", "booking.cancel_booking")
    assert not routing("gateway", "write", f"gateway-{UUID}")
    assert routing("booking", "write", "billing.quote")
    assert routing("booking", "write", UUID) and routing("booking", "write", f"gateway-{UUID}")
    assert not routing("booking", "write", "billing.run_month")
    assert not routing("billing", "write", "booking.cancel_booking")
    # binds its own requests and replies, nobody else's
    assert routing("booking", "read", "booking.*")
    assert not routing("booking", "read", "billing.*")
    assert not routing("booking", "read", "#")
    assert routing("gateway", "read", f"gateway-{UUID}") and not routing("gateway", "read", UUID)
    assert broker_users.rpc_topic_permissions("ops") is None


def test_production_needs_every_broker_password():
    assert broker_users.passwords_from_environment({})["booking"] == "relais-dev-booking"
    with pytest.raises(SystemExit, match="RELAIS_BROKER_PASSWORD_GATEWAY"):
        broker_users.passwords_from_environment({"RELAIS_ENVIRONMENT": "production"})


def test_the_broker_users_job_refuses_placeholders_before_connecting():
    placeholders = {f"RELAIS_BROKER_PASSWORD_{component.upper()}":
                    f"REPLACE-ME-broker-{component}-password"
                    for component in broker_users.COMPONENTS}
    env = dict(os.environ, RELAIS_ENVIRONMENT="production",
               RELAIS_BROKER_API="http://127.0.0.1:1/api",
               RELAIS_BROKER_ADMIN_PASSWORD="REPLACE-ME-rabbitmq-password", **placeholders)
    done = subprocess.run([sys.executable, "-m", "common.broker_users"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "Refusing to start broker-users" in done.stderr, done.stderr
    assert "RELAIS_BROKER_PASSWORD_BOOKING" in done.stderr and "REPLACE-ME" not in done.stderr


def test_a_publisher_is_the_user_of_its_connection():
    assert broker_users.user_id_of("amqp://relais-booking:s3cret@rabbitmq:5672/") == \
        "relais-booking"
    uri = broker_users.with_user("pyamqp://guest:guest@localhost:5672/test", "relais-ops", "p@ss")
    assert uri == "pyamqp://relais-ops:p%40ss@localhost:5672/test"
    assert broker_users.user_id_of(uri) == "relais-ops"
