"""The trip a booking avoided, and what it is worth in CO2. Pure: no database,
no framework; the emission factors come from a versioned data file
(``emission_factors.json``: source, date, version), passed in.

Assumptions, each visible in the result or the data file:

- The member would otherwise have made their declared commute (the profile's
  ``commute_km``, one way, home to usual office, by ``commute_mode``) and went
  to the relay instead, by the same mode: the trip avoided is
  ``2 x (commute_km - km home to relay)`` (there and back).
- Home to relay is the straight-line distance between the profile's (coarse,
  about 1 km) home and the relay, times the data file's detour factor.
- A relay farther than the office gives a negative figure: a trip added, not
  hidden as zero.
- A half-day counts half a day's trip, so that a morning and an afternoon on
  the same day make one trip avoided, never two.
- Without a profile (no commute, no mode, no home) or with a mode the data file
  has no factor for (``other``), the result is *unknown*: never zero, never
  a guess. Reports count unknowns apart.
"""
import json
from dataclasses import dataclass
from pathlib import Path

from services.booking.geo import haversine_km

FACTORS_FILE = Path(__file__).with_name("emission_factors.json")


@dataclass(frozen=True)
class EmissionFactors:
    version: str
    detour_factor: float
    kg_per_km: dict


@dataclass(frozen=True)
class TripAvoided:
    known: bool
    km_avoided: float | None = None
    kg_co2e_avoided: float | None = None
    mode: str | None = None
    factor_kg_per_km: float | None = None
    factors_version: str | None = None
    unknown_because: str | None = None


def load_factors(path=FACTORS_FILE):
    data = json.loads(Path(path).read_text())
    return EmissionFactors(data["version"], data["detour_factor"], dict(data["factors"]))


def trip_avoided(commute_km, commute_mode, home, relay, half_days, factors):
    """``home`` and ``relay``: (latitude, longitude) or None; ``half_days``:
    1 (a half-day) or 2 (a day; more is still one day's trip)."""
    if commute_km is None or commute_mode is None:
        return TripAvoided(False, unknown_because="no-commute-declared")
    if home is None:
        return TripAvoided(False, unknown_because="no-home-declared")
    if commute_mode not in factors.kg_per_km:
        return TripAvoided(False, mode=commute_mode, unknown_because="no-factor-for-mode")
    to_relay_km = haversine_km(*home, *relay) * factors.detour_factor
    share_of_day = min(half_days, 2) / 2
    km = round(2 * (commute_km - to_relay_km) * share_of_day, 1)
    factor = factors.kg_per_km[commute_mode]
    return TripAvoided(True, km_avoided=km, kg_co2e_avoided=round(km * factor, 2),
                       mode=commute_mode, factor_kg_per_km=factor,
                       factors_version=factors.version)


SMALL_CELL = 5


def suppress_small_cells(rows, people_key="people", threshold=SMALL_CELL):
    """Rows of an aggregate report with every figure of a cell of fewer than
    ``threshold`` people blanked (None) and ``suppressed`` set, so nobody in a
    small group can be singled out. Labels (strings) stay; the count too is
    blanked, as it is itself a figure."""
    suppressed = []
    for row in rows:
        small = row[people_key] < threshold
        suppressed.append({key: (None if small and not isinstance(value, str) else value)
                           for key, value in row.items()} | {"suppressed": small})
    return suppressed
