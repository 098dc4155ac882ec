"""The words of each message: Jinja2 templates in ``mail_templates/<locale>/``,
rendered to a mail with a plain-text body and an HTML alternative. Pure.

Each template sets three values: ``subject``, ``text`` and ``html``. The same
file is read by two environments: the HTML one escapes every value it prints
(autoescape: a relay named "<b>" stays text), the text one prints them as they
are (an "&" in a name is not "&amp;" in the plain-text part). The HTML body is
then wrapped in ``layout.html``, which adds the unsubscribe footer of optional
mails. Messages to a person are in their ``locale`` (French unless they chose
English); messages to a billing address are in French.
"""
from dataclasses import dataclass
from datetime import datetime

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from contracts.vocabulary import DEFAULT_LOCALE, LOCALES


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str       # e.g. 'text/calendar; method=REQUEST; charset="utf-8"'
    data: bytes


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str                                   # the plain-text part
    html: str | None = None                     # its HTML alternative
    calendar: Attachment | None = None          # an iCalendar invitation (invite.ics)
    attachments: tuple = ()                     # other Attachments
    headers: tuple = ()                         # (name, value), ...: List-Unsubscribe...


def euros(cents):
    """123456 -> "1 234,56 €" (French notation, a narrow no-break space for thousands)."""
    whole, rest = divmod(abs(cents), 100)
    thousands = format(whole, ",").replace(",", "\u202f")
    return f"{'-' if cents < 0 else ''}{thousands},{rest:02d} €"


def day(iso):
    """"2026-12-04" -> "04/12/2026"."""
    return datetime.fromisoformat(iso).strftime("%d/%m/%Y")


def _environment(autoescape):
    env = Environment(loader=PackageLoader("services.notify", "mail_templates"),
                      autoescape=autoescape, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(euros=euros, day=day)
    return env


_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


def render(name, to, locale=DEFAULT_LOCALE, unsubscribe=None, category_label="",
           calendar=None, **values):
    """The mail ``name`` in ``locale``. ``unsubscribe`` (an https URL) makes it an
    optional mail: a footer link and the RFC 8058 one-click headers."""
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    path = f"{locale}/{name}.jinja"
    text = _TEXT.get_template(path).make_module(values)
    subject = str(text.subject).strip()
    html = _layout(path, locale, subject, values, unsubscribe_url=unsubscribe,
                   category_label=category_label)
    headers = ()
    if unsubscribe:
        headers = (("List-Unsubscribe", f"<{unsubscribe}>"),
                   ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return Mail(to, subject, str(text.text).strip() + "\n", html, calendar, headers=headers)


def page(name, locale, **values):
    """A web page of notify's (the unsubscribe confirmation): the template's
    ``subject`` is its title, its ``html`` its content."""
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    path = f"{locale}/{name}.jinja"
    title = str(_TEXT.get_template(path).make_module(values).subject).strip()
    return _layout(path, locale, title, values)


def _layout(path, locale, subject, values, unsubscribe_url=None, category_label=""):
    content = Markup(str(_HTML.get_template(path).make_module(values).html).strip())
    return _HTML.get_template("layout.html").render(
        locale=locale, subject=subject, content=content, unsubscribe_url=unsubscribe_url,
        category_label=category_label)


# -- to a person (in their locale) -------------------------------------------------

def booking_mail(name, contact, booking, **extra):
    """A mail about a booking; ``booking`` is the event's data in JSON values."""
    # When a desk is released if nobody checks in (booking's timer), local time.
    release = datetime.fromisoformat(booking["local_release_at"]) \
        if booking.get("local_release_at") else None
    return render(name, contact.email, contact.locale, contact=contact, booking=booking,
                  starts=datetime.fromisoformat(booking["local_starts_at"]),
                  ends=datetime.fromisoformat(booking["local_ends_at"]), release=release,
                  **extra)


def booking_confirmed(contact, booking, **extra):
    return booking_mail("booking_confirmed", contact, booking, **extra)


def booking_cancelled(contact, booking, **extra):
    return booking_mail("booking_cancelled", contact, booking, **extra)


def booking_no_show(contact, booking, **extra):
    return booking_mail("booking_no_show", contact, booking, **extra)


def booking_reminder(contact, booking, **extra):
    return booking_mail("booking_reminder", contact, booking, **extra)


def arrivals_digest(contact, day, arrivals, **extra):
    """Tomorrow's arrivals at one relay, for one of its managers."""
    return render("arrivals_digest", contact.email, contact.locale, contact=contact, day=day,
                  arrivals=arrivals, relay_name=arrivals[0]["relay_name"], **extra)


def invitation(contact, data):
    """The link to set a password. The link is a secret: it is in the mail body
    only, never in the delivery log (which keeps the subject)."""
    return render("invitation", contact.email, contact.locale, contact=contact, data=data,
                  expires=datetime.fromisoformat(data["invitation_expires_at"]))


def sign_up(data, link):
    """A resident's verification link (a secret: in the body only). ``data``
    is ``identity.sign_up_requested``'s: there is no contact before the account."""
    return render("sign_up", data["email"], data["locale"], contact=_signer(data),
                  data=link, expires=datetime.fromisoformat(link["expires_at"]))


def sign_up_account_exists(data):
    """A sign-up with an address that has an account: its owner is told, nobody else."""
    return render("sign_up_account_exists", data["email"], data["locale"],
                  contact=_signer(data))


def _signer(data):
    return Contact(data["email"], data["full_name"], data["locale"])


@dataclass(frozen=True)
class Contact:
    """Who a mail to a person is written to: a contact row's fields a template reads."""
    email: str
    full_name: str
    locale: str


def deactivated(contact, data):
    return render("deactivated", contact.email, contact.locale, contact=contact, data=data)


def webhook_disabled(contact, endpoint):
    return render("webhook_disabled", contact.email, contact=contact, endpoint=endpoint)


# -- to a billing address (French) --------------------------------------------------

def invoice_finalized(to, data):
    return render("invoice_finalized", to, data=data)


def credit_note_issued(to, data):
    return render("credit_note_issued", to, data=data)


def invoice_overdue(to, data):
    return render("invoice_overdue", to, data=data)


def payment_recorded(to, data):
    return render("payment_recorded", to, data=data)


def settlement_issued(to, data):
    return render("settlement_issued", to, data=data)
