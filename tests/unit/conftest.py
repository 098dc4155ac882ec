"""Fixtures for the gateway's unit tests: a key pair, a fake RPC, a client.

The fake RPC stands in for RabbitMQ and the services: it records every call
and answers what the test sets, so a test can check exactly what the gateway
would have sent and how it shows what came back.
"""
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from werkzeug.test import Client

from services.identity import tokens


@dataclass
class RecordedCall:
    service: str
    method: str
    call_id_stack: list
    kwargs: dict


class FakeBrokerClient:
    """What /ready asks: how many consumers an RPC queue has (None: no queue)."""

    def __init__(self):
        self.consumers = {f"rpc-{name}": 1 for name in ("identity", "booking", "billing", "notify")}
        self.error = None

    def queue_consumers(self, queue):
        if self.error is not None:
            raise self.error
        return self.consumers.get(queue)


@dataclass
class FakeRpc:
    jwks: dict
    calls: list = field(default_factory=list)
    jwks_fetches: int = 0
    jwks_error: Exception | None = None
    replies: dict = field(default_factory=dict)
    timeouts: dict = field(default_factory=dict)  # (service, method) -> the timeout asked for
    client: FakeBrokerClient = field(default_factory=FakeBrokerClient)

    def answer(self, service, method, reply):
        """What ``service.method`` returns (or raises, if ``reply`` is an exception)."""
        self.replies[(service, method)] = reply

    def call(self, service, method, call_id_stack=None, timeout=None, **kwargs):
        if (service, method) == ("identity", "jwks"):
            self.jwks_fetches += 1
            if self.jwks_error is not None:
                raise self.jwks_error
            return self.jwks
        self.calls.append(RecordedCall(service, method, call_id_stack, kwargs))
        self.timeouts[(service, method)] = timeout
        reply = self.replies.get((service, method), {})
        if isinstance(reply, Exception):
            raise reply
        return reply


@pytest.fixture(scope="session")
def private_pem():
    return tokens.generate_private_pem()


@pytest.fixture(scope="session")
def other_private_pem():
    """A key identity never published."""
    return tokens.generate_private_pem()


@pytest.fixture
def member():
    return SimpleNamespace(id="11111111-1111-4111-8111-111111111111",
                           organisation_id="22222222-2222-4222-8222-222222222222",
                           roles={"member"}, relay_ids=[])


@pytest.fixture
def rpc(private_pem):
    return FakeRpc(jwks={"keys": [tokens.public_jwk(private_pem)]})


@pytest.fixture
def gateway(rpc):
    from gateway.app import Gateway
    return Gateway(rpc, limits())


def limits():
    """Real Redis, keys of this test only (they expire by themselves)."""
    import uuid

    from gateway.limits import Limits
    return Limits(prefix=f"relais:test:{uuid.uuid4().hex}:")


@pytest.fixture
def client(gateway):
    return Client(gateway)


@pytest.fixture
def token(private_pem, member):
    return tokens.issue_access_token(private_pem, member)["access_token"]


@pytest.fixture
def auth(token):
    return {"Authorization": f"Bearer {token}"}
