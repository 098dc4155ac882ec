"""What a resident books under a programme, as booking enforces it. Pure
domain code (standard library only).

A programme (a département, a health insurer...) grants the residents it
enrols some kinds of space, at some relays, so many hours and days a month
each, over a period, if they live in its communes or départements
(``identity.member_programmes_changed``, kept on the member's row). A
resident with programmes books only what one of them grants: the booking is
then the programme's (billing invoices it), and a refusal names the rule of
each programme that refused (``programme-commune``, ``programme-monthly-hours``...).
A member without programmes books as before (their organisation's policy).

Kinds of space are the strings of ``contracts.vocabulary.SPACE_KINDS`` as the
programme lists them: nothing here knows which kinds exist.
"""
from dataclasses import dataclass
from datetime import date

from services.booking.policy import PolicyRefused


def department_of(postcode):
    """The département of a French postcode: 23200 -> 23, 97411 -> 974,
    20000 (Corsica) -> 2A, 20200 -> 2B."""
    if not postcode:
        return None
    postcode = postcode.strip().upper()
    if postcode.startswith("97") or postcode.startswith("98"):
        return postcode[:3]
    if postcode.startswith("2A") or postcode.startswith("2B"):
        return postcode[:2]
    if postcode.startswith("20") and len(postcode) == 5:
        return "2A" if postcode < "20200" else "2B"
    return postcode[:2]


@dataclass(frozen=True)
class Programme:
    programme_id: str
    name: str
    space_kinds: frozenset | None = None     # None: every kind
    relay_ids: frozenset | None = None       # None: every relay
    communes: frozenset | None = None        # lower case; None (and no départements): anyone
    departments: frozenset | None = None
    max_hours_per_month: int | None = None   # per resident
    max_days_per_month: int | None = None
    valid_from: date | None = None
    valid_until: date | None = None

    @classmethod
    def from_rules(cls, rules):
        """One programme of ``identity.member_programmes_changed`` (JSON values)."""
        def kept(name, lower=False):
            values = rules.get(name)
            if values is None:
                return None
            return frozenset(value.strip().lower() if lower else value for value in values)

        def day(name):
            return date.fromisoformat(rules[name]) if rules.get(name) else None
        return cls(rules["programme_id"], rules["name"], kept("space_kinds"), kept("relay_ids"),
                   kept("communes", lower=True), kept("departments"),
                   rules.get("max_hours_per_month"), rules.get("max_days_per_month"),
                   day("valid_from"), day("valid_until"))

    def check(self, *, relay_id, space_kind, day, commune, postcode, minutes, minutes_booked,
              days_booked):
        """``minutes_booked`` and ``days_booked``: the resident's bookings under
        this programme in ``day``'s month (active ones)."""
        if (self.valid_from and day < self.valid_from) or \
                (self.valid_until and day > self.valid_until):
            raise PolicyRefused("programme-period", f"{self.name} covers bookings "
                                f"{_period(self.valid_from, self.valid_until)}.")
        if not self.admits(commune, postcode):
            raise PolicyRefused("programme-commune", f"{self.name} is for residents of "
                                f"{self.places()}; your profile says {commune or '?'} "
                                f"({postcode or '?'}).")
        if self.relay_ids is not None and relay_id not in self.relay_ids:
            raise PolicyRefused("programme-relay", f"{self.name} does not include this relay.")
        if self.space_kinds is not None and space_kind not in self.space_kinds:
            raise PolicyRefused("programme-space-kind",
                                f"{self.name} does not include booking a {space_kind}.")
        if self.max_days_per_month is not None and day not in days_booked \
                and len(days_booked) >= self.max_days_per_month:
            raise PolicyRefused("programme-monthly-days", f"{self.name} grants "
                                f"{self.max_days_per_month} days a month; you have "
                                f"{len(days_booked)} in {day:%m/%Y}.")
        if self.max_hours_per_month is not None \
                and minutes_booked + minutes > self.max_hours_per_month * 60:
            left = max(0, self.max_hours_per_month * 60 - minutes_booked)
            raise PolicyRefused("programme-monthly-hours", f"{self.name} grants "
                                f"{self.max_hours_per_month} hours a month; {_hours(left)} "
                                f"left in {day:%m/%Y}, this booking lasts {_hours(minutes)}.")

    def admits(self, commune, postcode):
        if self.communes is None and self.departments is None:
            return True
        return bool((self.communes and commune and commune.strip().lower() in self.communes)
                    or (self.departments and department_of(postcode) in self.departments))

    def places(self):
        names = sorted(self.communes or ()) + [f"département {code}"
                                               for code in sorted(self.departments or ())]
        return ", ".join(names)


def choose(programmes, usage_of, **facts):
    """The first programme (by name) that allows the booking whole; else
    PolicyRefused naming each one's reason, with the first one's rule as code.
    ``usage_of(programme)`` gives (minutes_booked, days_booked) in the month."""
    refusals = []
    for programme in programmes:
        minutes_booked, days_booked = usage_of(programme)
        try:
            programme.check(minutes_booked=minutes_booked, days_booked=days_booked, **facts)
            return programme
        except PolicyRefused as refusal:
            refusals.append(refusal)
    if len(refusals) == 1:
        raise refusals[0]
    raise PolicyRefused(refusals[0].rule, "No programme of yours allows this booking: "
                        + "; ".join(refusal.detail for refusal in refusals))


def _period(start, end):
    if start and end:
        return f"from {start:%d/%m/%Y} to {end:%d/%m/%Y}"
    return f"from {start:%d/%m/%Y}" if start else f"until {end:%d/%m/%Y}"


def _hours(minutes):
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if rest else f"{hours} h"
