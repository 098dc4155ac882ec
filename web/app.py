"""The web pages: a WSGI application served by gunicorn, rendering HTML on
the server with Jinja2 (autoescaped). It talks to the platform only through
the public HTTP API (web/api.py).

Every response carries a Content-Security-Policy without inline scripts or
styles; every POST must carry the session's CSRF token; a visitor who may not
see a page gets a page that says so, never a stack trace.
"""
import logging
import os
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect as werkzeug_redirect
from werkzeug.wrappers import Request, Response

from common import logging as relais_logging
from common.production import refuse_development_secrets
from web import i18n, routing
from web.api import Api, ApiError
from web.sessions import COOKIE, CookieSigner, MemoryStore, RedisStore, Session, csrf_ok

log = logging.getLogger("web")
HERE = Path(__file__).parent

# Map tiles are the only resource from elsewhere; without them the map stays
# empty and the list beside it still works.
DEFAULT_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def content_security_policy(tile_url):
    tiles = ""
    if tile_url.startswith(("http://", "https://")):
        scheme, _, rest = tile_url.partition("://")
        tiles = f" {scheme}://{rest.split('/', 1)[0].replace('{s}', '*')}"
    return ("default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' data:{tiles}; connect-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class Visit:
    """One request as the page handlers see it."""

    def __init__(self, app, request, session):
        self.app, self.request, self.session = app, request, session
        self.locale = i18n.pick_locale(session, request.accept_languages)
        self._ = i18n.translator(self.locale)
        self.api = Api(app.gateway_url, session)
        self.new_session = None   # set when log-in rotates the session id

    @property
    def user(self):
        return self.session.user

    @property
    def form(self):
        return self.request.form

    def render(self, template, status=200, **values):
        html = self.app.templates.get_template(template).render(
            _=self._, user=self.user, csrf=self.session["csrf"], locale=self.locale,
            path=self.request.path, flashes=self.session.take_flashes(),
            tile_url=self.app.tile_url, **i18n.filters(self.locale), **values)
        return Response(html, status=status, content_type="text/html; charset=utf-8")

    def redirect(self, location):
        return werkzeug_redirect(location, code=303)

    def flash(self, message, kind="success"):
        self.session.flash(message, kind)

    def log_in(self, tokens, claims, profile):
        """A new session id for the logged-in visitor (no session fixation)."""
        session = self.app.sessions.rotate(self.session)
        session["tokens"] = tokens
        session["user"] = profile
        self.session = self.new_session = session
        self.api = Api(self.app.gateway_url, session)


class WebApp:
    def __init__(self, gateway_url, secret, tile_url=DEFAULT_TILES, secure_cookies=None,
                 gateway_public_url=None, sessions=None, public_url=None):
        from web import pages  # noqa: F401  (registers every page)
        self.gateway_url = gateway_url
        self.gateway_public_url = (gateway_public_url or gateway_url).rstrip("/")
        # The pages' own address: single sign-on's callback is registered there.
        self.public_url = (public_url or "http://127.0.0.1:8090").rstrip("/")
        self.tile_url = tile_url
        self.secure_cookies = secure_cookies
        self.sessions = sessions or MemoryStore()
        self.signer = CookieSigner(secret)
        self.csp = content_security_policy(tile_url)
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(default=True),
                                     trim_blocks=True, lstrip_blocks=True)
        self.url_map = Map([Rule(p.path, endpoint=p, methods=list(p.methods))
                            for p in routing.PAGES]
                           + [Rule("/health", endpoint="health")], strict_slashes=False)

    def __call__(self, environ, start_response):
        request = Request(environ)
        return self.respond(request)(environ, start_response)

    def session_of(self, request):
        sid = self.signer.unsign(request.cookies.get(COOKIE))
        session = self.sessions.get(sid) if sid else None
        return session or self.sessions.new(), session is None

    def respond(self, request):
        try:
            session, fresh = self.session_of(request)
        except Exception:
            log.exception("the session store cannot be reached")
            visit = Visit(self, request, Session("unsaved"))
            return self.secured(self.error_page(visit, 503, "unavailable"), visit)
        visit = Visit(self, request, session)
        try:
            page, args = self.url_map.bind_to_environ(request.environ).match()
            if page == "health":
                response = Response('{"status": "ok"}', content_type="application/json")
            else:
                response = self.serve(visit, page, args)
        except NotFound:
            response = self.error_page(visit, 404, "page-not-found")
        except MethodNotAllowed:
            response = self.error_page(visit, 405, "method-not-allowed")
        except Exception:
            log.exception("unhandled error in a page")
            response = self.error_page(visit, 500, "internal-error")
        try:
            self.sessions.save(visit.session)
        except Exception:
            log.exception("the session store cannot be reached")
            response = self.error_page(visit, 503, "unavailable")
        if fresh or visit.new_session:
            self.set_cookie(request, response, visit.session)
        log.info("%s %s %s", request.method, request.path, response.status_code,
                 extra={"status": response.status_code})
        return self.secured(response, visit)

    def serve(self, visit, page, args):
        request = visit.request
        if not routing.allowed(page.audience, visit.user):
            if visit.user is None:
                return visit.redirect("/login?next=" + quote(request.full_path.rstrip("?")))
            return self.error_page(visit, 403, "not-for-you", audience=page.audience)
        if request.method == "POST" and not csrf_ok(visit.session, request.form.get("csrf")):
            return self.error_page(visit, 403, "csrf")
        try:
            return page.handler(visit, **args)
        except ApiError as error:
            if error.status == 401:
                visit.session.log_out()
                visit.flash(visit._("Your session has ended: please log in again."), "error")
                return visit.redirect("/login?next=" + quote(request.full_path.rstrip("?")))
            if error.status in (403, 404):
                return self.error_page(visit, error.status, "api", detail=error.detail)
            if error.status >= 500:
                return self.error_page(visit, 503, "unavailable", detail=error.detail)
            return self.error_page(visit, error.status, "api", detail=error.detail)

    def error_page(self, visit, status, reason, **values):
        return visit.render("error.html", status=status, reason=reason, status_code=status,
                            **values)

    def set_cookie(self, request, response, session):
        secure = self.secure_cookies if self.secure_cookies is not None else (
            request.scheme == "https")
        response.set_cookie(COOKIE, self.signer.sign(session.sid), httponly=True,
                            samesite="Lax", secure=secure, path="/")

    def secured(self, response, visit):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", self.csp)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["X-Frame-Options"] = "DENY"
        if response.mimetype == "text/html":
            headers["Cache-Control"] = "no-store"
            headers["Content-Language"] = visit.locale
        return response


def session_store():
    """Redis (shared by every replica and process) unless told otherwise."""
    if os.environ.get("RELAIS_WEB_SESSION_STORE", "redis") == "memory":
        return MemoryStore()
    return RedisStore(os.environ.get("RELAIS_REDIS_URL", "redis://127.0.0.1:6379/0"),
                      os.environ.get("RELAIS_WEB_SESSION_PREFIX", "relais:web:session:"))


def create_app():
    refuse_development_secrets("web")
    relais_logging.configure("web")
    web = WebApp(
        sessions=session_store(),
        gateway_url=os.environ.get("RELAIS_GATEWAY_URL", "http://127.0.0.1:8080"),
        secret=os.environ.get("RELAIS_WEB_SECRET", "development-only-web-secret"),
        tile_url=os.environ.get("RELAIS_WEB_TILE_URL", DEFAULT_TILES),
        gateway_public_url=os.environ.get("RELAIS_GATEWAY_PUBLIC_URL"),
        public_url=os.environ.get("RELAIS_PUBLIC_URL"),
        secure_cookies={"true": True, "false": False}.get(
            os.environ.get("RELAIS_WEB_SECURE_COOKIES", "").lower()))
    return SharedDataMiddleware(web, {"/static": str(HERE / "static")}, cache_timeout=3600)


app = create_app()
