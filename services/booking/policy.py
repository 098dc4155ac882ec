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

    def check(self, *, relay_id, relay_point, home_point, space_kind, day, days_booked):
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


def euros(cents):
    return f"{cents // 100},{cents % 100:02d} €"
