"""A member's corporate policy, as booking enforces it. Pure domain code.

The policy is identity's (``identity.policy_changed``); booking keeps a
projection of it and checks every booking against it. A member without a
policy (an individual, or an organisation that set none) books anywhere, any
kind of space, within the network's horizon. The monthly budget is held
here too (``check_budget``), with prices that billing quotes (bookings.py).
"""
from dataclasses import dataclass

from services.booking.geo import haversine_km

NETWORK_HORIZON_DAYS = 90


class PolicyRefused(Exception):
    """The organisation's policy does not allow this booking; ``rule`` says which part."""

    def __init__(self, rule, detail):
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


@dataclass(frozen=True)
class Policy:
    allowed_relays: str = "all"          # all | list | radius
    relay_ids: frozenset = frozenset()
    radius_km: int | None = None
    max_days_per_month: int | None = None
    booking_horizon_days: int | None = None
    space_kinds: frozenset | None = None  # None: every kind
    monthly_budget_cents: int | None = None  # excl. VAT; None: no budget
    budget_per: str = "organisation"       # organisation | member

    @property
    def horizon_days(self):
        if self.booking_horizon_days is None:
            return NETWORK_HORIZON_DAYS
        return min(NETWORK_HORIZON_DAYS, self.booking_horizon_days)

    def horizon_detail(self):
        if self.horizon_days < NETWORK_HORIZON_DAYS:
            return f"Your organisation allows bookings {self.horizon_days} days ahead at most."
        return f"Bookings open {NETWORK_HORIZON_DAYS} days ahead at most."

    @property
    def measures_from_home(self):
        """A radius policy: which relays are allowed depends on the member's home."""
        return self.allowed_relays == "radius" and self.radius_km is not None

    def check_relay(self, relay_id, relay_point, home_point):
        if self.allowed_relays == "list" and relay_id not in self.relay_ids:
            raise PolicyRefused("policy-relay-not-allowed",
                                "Your organisation's policy does not include this relay.")
        if self.measures_from_home:
            if home_point is None:
                raise PolicyRefused(
                    "policy-home-unknown", "Your organisation allows relays within "
                    f"{self.radius_km} km of home, and your home address is not known yet: "
                    "complete your profile.")
            distance = haversine_km(*home_point, *relay_point)
            if distance > self.radius_km:
                raise PolicyRefused(
                    "policy-relay-too-far", f"This relay is {distance:.0f} km from your home; "
                    f"your organisation allows relays within {self.radius_km} km.")

    def check_space_kind(self, kind):
        if self.space_kinds is not None and kind not in self.space_kinds:
            raise PolicyRefused("policy-space-kind",
                                f"Your organisation's policy does not allow booking a {kind}.")

    def check_days_in_month(self, day, days_booked):
        """``days_booked``: the member's dates already booked in ``day``'s month."""
        if self.max_days_per_month is None or day in days_booked:
            return
        if len(days_booked) >= self.max_days_per_month:
            raise PolicyRefused(
                "policy-days-per-month", f"Your organisation allows {self.max_days_per_month} "
                f"days a month; you already have {len(days_booked)} in {day:%m/%Y}.")

    @classmethod
    def from_rules(cls, rules):
        """A group's booking rules (``identity.member_policies_changed``): no budget."""
        return cls(rules["allowed_relays"], frozenset(rules.get("relay_ids") or ()),
                   rules.get("radius_km"), rules.get("max_days_per_month"),
                   rules.get("booking_horizon_days"),
                   frozenset(rules["space_kinds"]) if rules.get("space_kinds") is not None
                   else None)

    def check(self, *, relay_id, relay_point, home_point, space_kind, day, days_booked,
              days_ahead=None):
        """``days_ahead`` is checked by the slot rules (``slots.check_bookable``)
        with ``horizon_days``; a set of group policies checks it per policy."""
        self.check_relay(relay_id, relay_point, home_point)
        self.check_space_kind(space_kind)
        self.check_days_in_month(day, days_booked)

    def check_budget(self, day, price_cents, spent_cents):
        """``spent_cents``: what the organisation (or the member, per the
        policy) has already spent in ``day``'s month."""
        if self.monthly_budget_cents is None:
            return
        if spent_cents + price_cents > self.monthly_budget_cents:
            whose = "your" if self.budget_per == "member" else "your organisation's"
            left = max(0, self.monthly_budget_cents - spent_cents)
            raise PolicyRefused(
                "policy-monthly-budget", f"This booking costs {euros(price_cents)}; "
                f"{whose} monthly budget of {euros(self.monthly_budget_cents)} has "
                f"{euros(left)} left in {day:%m/%Y}.")


class GroupPolicies:
    """The policies of the groups holding a member (a corporate admin maps
    groups to booking rules). A booking that any one of them allows is allowed:
    the most generous wins, policy by policy, rules never mixed across groups.
    A refusal names every group's policy and why it refused. The monthly
    budget stays the organisation's (``organisation``)."""

    def __init__(self, named, organisation):
        self.named = list(named)  # [(group name, Policy)], by name
        self.organisation = organisation
        self.horizon_days = max(policy.horizon_days for _, policy in self.named)
        caps = [policy.max_days_per_month for _, policy in self.named
                if policy.max_days_per_month is not None]
        # Set when some policy caps the days (booking reads the member's days
        # of the month only then); each policy checks its own cap.
        self.max_days_per_month = max(caps) if caps else None
        self.monthly_budget_cents = organisation.monthly_budget_cents
        self.budget_per = organisation.budget_per

    @property
    def measures_from_home(self):
        """Some group's policy allows relays by their distance from home."""
        return any(policy.measures_from_home for _, policy in self.named)

    def horizon_detail(self):
        if self.horizon_days < NETWORK_HORIZON_DAYS:
            return f"Your groups' policies allow bookings {self.horizon_days} days ahead at most."
        return f"Bookings open {NETWORK_HORIZON_DAYS} days ahead at most."

    def check(self, *, relay_id, relay_point, home_point, space_kind, day, days_booked,
              days_ahead=None):
        refusals = []
        for name, policy in self.named:
            try:
                if days_ahead is not None and days_ahead > policy.horizon_days:
                    raise PolicyRefused("policy-horizon", policy.horizon_detail())
                policy.check(relay_id=relay_id, relay_point=relay_point,
                             home_point=home_point, space_kind=space_kind, day=day,
                             days_booked=days_booked)
                return name
            except PolicyRefused as refusal:
                refusals.append((name, refusal))
        raise PolicyRefused(refusals[0][1].rule, "No policy of your groups allows this booking: "
                            + "; ".join(f"{name}: {refusal.detail}"
                                        for name, refusal in refusals))

    def check_budget(self, day, price_cents, spent_cents):
        self.organisation.check_budget(day, price_cents, spent_cents)


def policy_for(organisation_policy, group_rules):
    """What a member books under: their groups' policies if they have any
    (``[{name, allowed_relays, ...}]``), else their organisation's."""
    if not group_rules:
        return organisation_policy
    return GroupPolicies([(rules["name"], Policy.from_rules(rules)) for rules in group_rules],
                         organisation_policy)


def euros(cents):
    return f"{cents // 100},{cents % 100:02d} €"
