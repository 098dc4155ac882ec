"""One message catalogue for every page: French by default, English by choice.

Templates and handlers write the English text (``_("Find a desk")``); the
French catalogue (``web/messages_fr.py``) maps it to French. A message missing
from the catalogue shows in English (tests/unit/test_web.py fails on any).
Dates, times and numbers are formatted for the locale by Babel, in the
relay's time zone.
"""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from web.messages_fr import EN, FR

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"


def translator(locale):
    if locale == "fr":
        def gettext(message, **values):
            text = FR.get(message, message)
            return text.format(**values) if values else text
    else:
        def gettext(message, **values):
            text = EN.get(message, message)
            return text.format(**values) if values else text
    return gettext


def pick_locale(session, accept_languages):
    if session is not None and session.get("locale") in LOCALES:
        return session["locale"]
    best = accept_languages.best_match(LOCALES) if accept_languages else None
    return best or DEFAULT_LOCALE


def _as_date(value):
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def filters(locale):
    def day(value, style="full"):
        return format_date(_as_date(value), format=style, locale=locale) if value else ""

    def local(value, timezone):
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(ZoneInfo(timezone)) if timezone else moment

    def time_in(value, timezone=None):
        """An instant (ISO 8601) as the relay's local time."""
        return format_time(local(value, timezone), format="short", locale=locale) if value else ""

    def when(value, timezone=None):
        if not value:
            return ""
        moment = local(value, timezone)
        return f"{format_date(moment.date(), format='medium', locale=locale)} {time_in(moment)}"

    def euros(cents):
        if cents is None:
            return ""
        from babel.numbers import format_currency
        return format_currency(cents / 100, "EUR", locale=locale)

    def percent(ratio):
        """A rate (0.25) as the locale writes it (25 %); a dash when unknown."""
        if ratio is None:
            return "—"
        from babel.numbers import format_percent
        return format_percent(ratio, locale=locale)

    return {"day": day, "time": time_in, "when": when, "euros": euros, "percent": percent}
