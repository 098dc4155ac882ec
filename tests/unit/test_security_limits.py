"""Security: the gateway's attempt limits (gateway/limits.py) on the machine's
real Redis, keys of each test only."""
import pytest

from gateway import limits as rules
from tests.unit.conftest import limits


def test_lock_delays_double_from_the_sixth_failure_up_to_fifteen_minutes():
    assert [rules.lock_seconds(n) for n in range(1, 5)] == [0] * 4
    assert [rules.lock_seconds(n) for n in range(5, 11)] == [30, 60, 120, 240, 480, 900]
    assert rules.lock_seconds(100) == 900


def test_a_pair_locks_not_the_address():
    store = limits()
    for _ in range(5):
        store.login_failed("Owner@Example.org", "203.0.113.1")
    assert 0 < store.login_wait("owner@example.org", "203.0.113.1") <= 30
    assert store.login_wait("owner@example.org", "198.51.100.1") == 0


def test_many_clients_on_one_address_stop_unknown_clients_only():
    store = limits()
    store.login_succeeded("owner@example.org", "198.51.100.1")  # the owner's usual client
    for n in range(rules.ADDRESS_FAILURES):
        store.login_failed("owner@example.org", f"10.0.{n // 250}.{n % 250}")
    assert store.login_wait("owner@example.org", "192.0.2.99") > 0
    assert store.login_wait("owner@example.org", "198.51.100.1") == 0


def test_a_success_clears_the_pair():
    store = limits()
    for _ in range(4):
        store.login_failed("owner@example.org", "203.0.113.1")
    store.login_succeeded("owner@example.org", "203.0.113.1")
    store.login_failed("owner@example.org", "203.0.113.1")
    assert store.login_wait("owner@example.org", "203.0.113.1") == 0


def test_a_counted_window_refuses_then_says_how_long():
    store = limits()
    for _ in range(3):
        assert store.wait(rules.INVITATION_MAILS, "invite", "u1") == 0
        store.count(rules.INVITATION_MAILS, "invite", "u1")
    assert 0 < store.wait(rules.INVITATION_MAILS, "invite", "u1") <= 3600


def test_an_unreachable_redis_is_a_refusal_not_an_open_door():
    store = rules.Limits(url="redis://127.0.0.1:1/0", prefix="relais:test:down:")
    with pytest.raises(rules.LimitsUnavailable):
        store.login_wait("owner@example.org", "203.0.113.1")


def request_from(peer, forwarded=None):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return Request(EnvironBuilder(headers=headers,
                                  environ_base={"REMOTE_ADDR": peer}).get_environ())


def test_the_client_is_the_peer_unless_a_trusted_proxy_says(monkeypatch):
    from gateway import app
    spoofed = request_from("198.51.100.7", "203.0.113.1")
    assert app.client_address(spoofed) == "198.51.100.7"  # no proxy trusted: header ignored
    monkeypatch.setattr(app, "TRUSTED_PROXY_HOPS", 1)
    # Behind one ingress: the address it appended, whatever the client prepended.
    assert app.client_address(request_from("10.0.0.2", "203.0.113.1, 198.51.100.7")) == \
        "198.51.100.7"
    assert app.client_address(request_from("10.0.0.2")) == "10.0.0.2"


def test_json_nesting_is_measured_without_recursion():
    from common.validation import MAX_JSON_DEPTH, nesting_depth
    deep = []
    for _ in range(100_000):
        deep = [deep]
    assert nesting_depth(deep) > MAX_JSON_DEPTH
    assert nesting_depth({"a": [{"b": 1}], "c": "d"}) == 3
