"""Web sessions in the machine's real Redis, under this slot's own prefix: two
web apps (as two processes or replicas) share a visitor's session, it expires
by itself, and a rotated or dropped session is gone for both."""
import os
import uuid

import pytest
import redis

from web.sessions import IDLE_SECONDS, RedisStore

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix():
    slot = os.environ.get("RELAIS_TEST_SLOT", "0")
    prefix = f"relais:test{slot}:web-session:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)


def test_two_stores_share_a_session_that_expires_by_itself(prefix):
    first, second = RedisStore(REDIS_URL, prefix), RedisStore(REDIS_URL, prefix)
    session = first.new()
    session["tokens"] = {"access_token": "a", "refresh_token": "r"}
    session.flash("Bonjour")
    first.save(session)

    seen = second.get(session.sid)
    assert seen["tokens"]["refresh_token"] == "r" and seen["csrf"] == session["csrf"]
    assert seen.take_flashes() == [{"message": "Bonjour", "kind": "success"}]
    second.save(seen)
    assert first.get(session.sid).take_flashes() == [], "a flash is shown once, anywhere"
    assert 0 < first.redis.ttl(first.key(session.sid)) <= IDLE_SECONDS


def test_a_rotated_session_is_gone_for_every_store(prefix):
    first, second = RedisStore(REDIS_URL, prefix), RedisStore(REDIS_URL, prefix)
    session = first.new({"locale": "en"})
    rotated = second.rotate(second.get(session.sid))
    assert first.get(session.sid) is None
    assert first.get(rotated.sid)["locale"] == "en"
    assert first.get(rotated.sid)["csrf"] != session["csrf"]
    assert RedisStore(REDIS_URL, prefix + "other:").get(rotated.sid) is None
