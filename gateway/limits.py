"""Attempt limits shared by every gateway replica, in Redis: log-in, setting a
password with an invitation, verifying a sign-up's e-mail, invitation and
sign-up mails, SCIM. Over a limit the answer
is 429 with ``Retry-After``, before any service is called.

Log-in makes guessing cost the attacker, not the account's owner:

- per address *and* client (IP): the first 5 failures in a row cost nothing,
  then each failure locks that pair for 30 s, doubling up to 15 min. The owner
  on another client is not concerned; a success clears the pair.
- per client: at most 30 failed log-ins in 15 minutes, whatever the addresses
  (one client trying many accounts).
- per address, from clients that never logged in to it: at most 100 failures
  an hour (many clients on one account); a client where the address logged
  in within 30 days is *known* and keeps its way in, so a botnet cannot lock
  the owner out of their usual client.

Every key holds a hash of the address (never the address) and expires by
itself: nothing to prune. If Redis cannot be reached, these endpoints answer
503: a log-in without its limit would be an open door to guessing.
"""
import hashlib
import logging
import threading

import redis

from common import config

log = logging.getLogger("gateway.limits")

FREE_FAILURES = 5
FIRST_LOCK_SECONDS = 30
MAX_LOCK_SECONDS = 15 * 60
PAIR_MEMORY_SECONDS = 24 * 3600
CLIENT_FAILURES, CLIENT_WINDOW = 30, 15 * 60
ADDRESS_FAILURES, ADDRESS_WINDOW = 100, 3600
KNOWN_CLIENT_SECONDS = 30 * 24 * 3600
# Other limits: (attempts, window in seconds), counted per key.
PASSWORD_SET_FAILURES = (10, 15 * 60)      # per client: invitation or sign-up tokens guessed
SIGN_UPS_PER_ADDRESS = (3, 3600)           # mails one address may be sent by sign-ups
SIGN_UPS_PER_CLIENT = (10, 3600)           # sign-ups from one client, whatever the addresses
INVITATION_MAILS = (3, 3600)               # per user invited
INVITATION_MAILS_PER_CALLER = (30, 3600)   # per admin (or key) sending them
SCIM_REQUESTS = (1200, 60)                 # per SCIM token
SSO_STARTS = (60, 15 * 60)                 # per client: sign-ins begun (each kept 10 min)


class LimitsUnavailable(Exception):
    pass


def lock_seconds(failures):
    """How long an (address, client) pair stays locked after its ``failures``-th
    failure in a row."""
    if failures < FREE_FAILURES:
        return 0
    return min(FIRST_LOCK_SECONDS * 2 ** min(failures - FREE_FAILURES, 10), MAX_LOCK_SECONDS)


def digest(text):
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()[:32]


class Limits:
    """The counters, in Redis (``RELAIS_REDIS_URL``, prefix ``RELAIS_LIMITS_PREFIX``)."""

    def __init__(self, url=None, prefix=None):
        self.url = url or config.env("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.prefix = prefix or config.env("LIMITS_PREFIX", "relais:limits:")
        self._client = None
        self._lock = threading.Lock()

    @property
    def redis(self):
        # Created on first use, after gunicorn forked; redis-py's pool is thread-safe.
        with self._lock:
            if self._client is None:
                self._client = redis.Redis.from_url(self.url, socket_timeout=1,
                                                    socket_connect_timeout=1)
            return self._client

    def run(self, work):
        try:
            return work(self.redis)
        except redis.RedisError as exc:
            log.error("attempt limits unavailable: %s", exc)
            raise LimitsUnavailable(str(exc)) from None

    def key(self, *parts):
        return self.prefix + ":".join(parts)

    # -- log-in ----------------------------------------------------------------

    def login_wait(self, email, client):
        """Seconds to wait before this client may try this address, or 0."""
        address = digest(email)
        pair, by_client = self.key("login", "pair", address, client), self.key(
            "login", "client", client)
        by_address, known = self.key("login", "address", address), self.key(
            "login", "known", address, client)

        def check(r):
            pipe = r.pipeline()
            pipe.ttl(pair + ":lock")
            pipe.get(by_client)
            pipe.ttl(by_client)
            pipe.get(by_address)
            pipe.ttl(by_address)
            pipe.exists(known)
            lock, client_count, client_ttl, address_count, address_ttl, is_known = pipe.execute()
            waits = [lock if lock and lock > 0 else 0]
            if int(client_count or 0) >= CLIENT_FAILURES:
                waits.append(max(client_ttl, 1))
            if int(address_count or 0) >= ADDRESS_FAILURES and not is_known:
                waits.append(max(address_ttl, 1))
            return max(waits)
        return self.run(check)

    def login_failed(self, email, client):
        address = digest(email)
        pair = self.key("login", "pair", address, client)

        def count(r):
            pipe = r.pipeline()
            pipe.incr(pair)
            pipe.expire(pair, PAIR_MEMORY_SECONDS)
            self._window(pipe, self.key("login", "client", client), CLIENT_WINDOW)
            if not r.exists(self.key("login", "known", address, client)):
                self._window(pipe, self.key("login", "address", address), ADDRESS_WINDOW)
            failures = pipe.execute()[0]
            lock = lock_seconds(failures)
            if lock:
                r.set(pair + ":lock", 1, ex=lock)
        self.run(count)

    def login_succeeded(self, email, client):
        address = digest(email)

        def clear(r):
            pipe = r.pipeline()
            pipe.delete(self.key("login", "pair", address, client))
            pipe.delete(self.key("login", "pair", address, client) + ":lock")
            pipe.set(self.key("login", "known", address, client), 1, ex=KNOWN_CLIENT_SECONDS)
            pipe.execute()
        self.run(clear)

    # -- counted windows (password set, invitation mails, SCIM) ------------------

    def wait(self, limit, *parts):
        """Seconds before one more attempt under ``limit`` is allowed, or 0."""
        attempts, _ = limit
        key = self.key(*parts)

        def check(r):
            pipe = r.pipeline()
            pipe.get(key)
            pipe.ttl(key)
            count, ttl = pipe.execute()
            return max(ttl, 1) if int(count or 0) >= attempts else 0
        return self.run(check)

    def count(self, limit, *parts):
        _, window = limit
        self.run(lambda r: self._window(r.pipeline(), self.key(*parts), window).execute())

    @staticmethod
    def _window(pipe, key, seconds):
        """A fixed window: the first attempt starts it, the key expires with it."""
        pipe.incr(key)
        pipe.expire(key, seconds, nx=True)
        return pipe
