"""Server-side sessions: the browser holds only a random session id, signed,
in an HttpOnly SameSite=Lax cookie (Secure over https). The access and refresh
tokens, the CSRF token and the language stay here.

The store is in memory, per gunicorn process: web runs one process with
threads (gunicorn.conf.py) so every request of a visitor meets its session.
A restart logs everyone out, which is acceptable for a front end whose state
is only tokens; several replicas would need a shared store (Redis) or sticky
sessions, behind the same ``MemoryStore`` interface.
"""
import hashlib
import hmac
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
