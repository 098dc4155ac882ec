"""Every page, by audience; importing this package registers them (web/routing.py)."""
from web.pages import (  # noqa: F401
    account, company, documents, manager, member, ops, public, sso, webhooks,
)
