"""Use cases of people's choices of mails: read and change them (the API),
turn one category off from a mail's link (no log-in), and ask before sending
an optional mail whether its recipient still wants it."""
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from common import errors
from common import config as env_config
from contracts.vocabulary import DEFAULT_LOCALE
from services.notify import message_categories as categories
from services.notify.models import Contact, Preference

# For development and the tests; production refuses to start with it
# (common/production.py: "relais-dev").
DEV_UNSUBSCRIBE_KEY = "relais-dev-unsubscribe-key-not-for-production"


@dataclass(frozen=True)
class UnsubscribeLinks:
    public_url: str
    key: str

    @classmethod
    def from_config(cls, config):
        return cls(config.get("PUBLIC_URL") or env_config.api_public_url(),
                   config.get("UNSUBSCRIBE_KEY") or env_config.env("UNSUBSCRIBE_KEY")
                   or DEV_UNSUBSCRIBE_KEY)

    def for_mail(self, user_id, category, locale):
        """What ``templates.render`` needs to make a mail of ``category``
        optional (a link and its headers); nothing for a mandatory one."""
        if category in categories.MANDATORY:
            return {}
        return {"unsubscribe": categories.link(self.public_url, self.key, user_id, category),
                "category_label": categories.LABELS.get(locale, categories.LABELS["fr"])[category]}


def wants(session, user_id, category):
    if category in categories.MANDATORY:
        return True
    return wanted(category, session.execute(select(Preference.enabled).where(
        Preference.user_id == user_id, Preference.category == category)).scalar_one_or_none())


def wanted(category, enabled):
    """Whether a mail of ``category`` goes out, given the person's choice
    (``enabled``: their row's, None without one)."""
    return category in categories.MANDATORY or enabled is not False


def _own(caller, user_id):
    """Only the person chooses their mails (a web page of theirs, their token)."""
    if caller.credential != "access_token" or caller.user_id != user_id:
        raise errors.NotFound(f"No preferences for user {user_id}.")


def get_preferences(session, caller, user_id):
    _own(caller, user_id)
    chosen = dict(session.execute(select(Preference.category, Preference.enabled)
                                  .where(Preference.user_id == user_id)).all())
    return [{"category": category, "mandatory": category in categories.MANDATORY,
             "enabled": category in categories.MANDATORY or chosen.get(category, True)}
            for category in categories.CATEGORIES]


def set_preferences(uow, caller, user_id, changes):
    """``changes``: {category: enabled}. Turning a mandatory one off is refused."""
    _own(caller, user_id)
    refused = sorted(c for c, enabled in changes.items()
                     if c in categories.MANDATORY and not enabled)
    if refused:
        raise errors.InvalidInput(
            "Security, invoicing and changes to your bookings cannot be turned off.",
            fields={c: ["Cannot be turned off."] for c in refused})
    for category, enabled in changes.items():
        if category in categories.OPTIONAL:
            _choose(uow.session, user_id, category, enabled)
    return get_preferences(uow.session, caller, user_id)


def _choose(session, user_id, category, enabled):
    session.execute(insert(Preference).values(user_id=user_id, category=category, enabled=enabled)
                    .on_conflict_do_update(index_elements=[Preference.user_id, Preference.category],
                                           set_={"enabled": enabled}))


def unsubscribe(uow, links, token):
    """One click in a mail (or its confirmation page): that category off for
    that person. Idempotent. Returns ``(locale, category)`` for the page."""
    user_id, category = _verified(links, token)
    _choose(uow.session, user_id, category, False)
    return _locale(uow.session, user_id), category


def unsubscribe_target(session, links, token):
    """What a link would turn off, for its confirmation page (nothing changes)."""
    user_id, category = _verified(links, token)
    return _locale(session, user_id), category


def _verified(links, token):
    try:
        return categories.verify(links.key, token)
    except categories.BadToken:
        raise errors.NotFound("This unsubscribe link is not valid.") from None


def _locale(session, user_id):
    return session.execute(select(Contact.locale).where(Contact.user_id == user_id)
                           ).scalar_one_or_none() or DEFAULT_LOCALE
