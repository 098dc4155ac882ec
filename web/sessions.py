"""Server-side sessions: the browser holds only a random session id, signed,
in an HttpOnly SameSite=Lax cookie (Secure over https). The access and refresh
tokens, the CSRF token and the language stay here.

Two stores with one interface (get, new, rotate, drop, save):

- ``RedisStore``, what web runs with: every replica and every gunicorn
  process reads the same sessions, a restart logs nobody out, and each
  session expires by itself after IDLE_SECONDS without a request.
- ``MemoryStore``, per process: for tests without Redis (tests/unit).

A request loads its session once and saves it once, at the end (web/app.py):
two requests of one visitor at the same instant each save what they saw, the
last one winning; a session holds tokens, a CSRF token, a language and flash
messages, so that costs at most a flash message.
"""
import hashlib
import hmac
import json
import secrets
import threading
import time

COOKIE = "relais_session"
IDLE_SECONDS = 12 * 3600


class Session(dict):
    def __init__(self, sid, data=None):
        super().__init__(data or {})
        self.sid = sid
        self.touched = time.monotonic()
        self.setdefault("csrf", secrets.token_urlsafe(32))

    @property
    def user(self):
        return self.get("user")

    def log_out(self):
        for key in ("tokens", "user"):
            self.pop(key, None)

    def flash(self, message, kind="success"):
        self.setdefault("flashes", []).append({"message": message, "kind": kind})

    def take_flashes(self):
        return self.pop("flashes", [])


class MemoryStore:
    def __init__(self):
        self.sessions = {}
        self.lock = threading.Lock()

    def get(self, sid):
        with self.lock:
            session = self.sessions.get(sid)
            if session is not None and time.monotonic() - session.touched > IDLE_SECONDS:
                del self.sessions[sid]
                return None
            if session is not None:
                session.touched = time.monotonic()
            return session

    def new(self, data=None):
        session = Session(secrets.token_urlsafe(32), data)
        with self.lock:
            self.sessions[session.sid] = session
            if len(self.sessions) % 1000 == 0:
                self.purge()
        return session

    def rotate(self, session):
        """A new id for the same visitor (at log-in: no session fixation) and
        a new CSRF token."""
        data = {k: v for k, v in session.items() if k != "csrf"}
        self.drop(session)
        return self.new(data)

    def drop(self, session):
        with self.lock:
            self.sessions.pop(session.sid, None)

    def purge(self):
        now = time.monotonic()
        for sid in [s for s, v in self.sessions.items() if now - v.touched > IDLE_SECONDS]:
            del self.sessions[sid]

    def save(self, session):
        """Nothing to do: the session object is the stored one."""


class RedisStore:
    """Sessions as JSON under ``<prefix><session id>``, expiring IDLE_SECONDS
    after the visitor's last request. The prefix keeps networks apart (each
    test slot, each environment sharing a Redis)."""

    def __init__(self, url, prefix):
        import redis
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    def key(self, sid):
        return self.prefix + sid

    def get(self, sid):
        stored = self.redis.get(self.key(sid))
        return Session(sid, json.loads(stored)) if stored is not None else None

    def new(self, data=None):
        session = Session(secrets.token_urlsafe(32), data)
        self.save(session)
        return session

    def rotate(self, session):
        data = {k: v for k, v in session.items() if k != "csrf"}
        self.drop(session)
        return self.new(data)

    def drop(self, session):
        self.redis.delete(self.key(session.sid))

    def save(self, session):
        self.redis.set(self.key(session.sid), json.dumps(session), ex=IDLE_SECONDS)


class CookieSigner:
    def __init__(self, secret):
        self.key = secret.encode()

    def sign(self, sid):
        return f"{sid}.{self._mac(sid)}"

    def unsign(self, value):
        sid, _, mac = (value or "").rpartition(".")
        if sid and hmac.compare_digest(mac, self._mac(sid)):
            return sid
        return None

    def _mac(self, sid):
        return hmac.new(self.key, sid.encode(), hashlib.sha256).hexdigest()[:43]


def csrf_ok(session, submitted):
    return bool(submitted) and hmac.compare_digest(session["csrf"], submitted)
