"""The page table: each page module registers its handlers here with the
path, the methods and who may see it. web/app.py builds the URL map from it."""
from dataclasses import dataclass

# Who may open a page. "member" is anyone logged in; the others are roles of
# the access token. Network admins see what ops see.
AUDIENCES = {
    None: None,
    "member": None,
    "relay_manager": {"relay_manager"},
    "corporate_admin": {"corporate_admin"},
    "ops": {"network_ops", "network_admin"},
}


@dataclass(frozen=True)
class Page:
    path: str
    handler: object
    methods: tuple
    audience: str | None

    @property
    def name(self):
        return self.handler.__name__


PAGES = []


def page(path, methods=("GET",), audience=None):
    def register(handler):
        PAGES.append(Page(path, handler, tuple(methods), audience))
        return handler
    return register


def allowed(audience, user):
    if audience is None:
        return True
    if user is None:
        return False
    roles = AUDIENCES[audience]
    return roles is None or bool(roles & set(user.get("roles", ())))
