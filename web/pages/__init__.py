"""Every page, by audience; importing this package registers them (web/routing.py)."""
from web.pages import account, company, manager, member, ops, public  # noqa: F401
