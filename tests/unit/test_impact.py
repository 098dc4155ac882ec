"""The trip avoided, against cases computed by hand, and small-cell suppression."""
import json

import pytest

from services.booking.geo import haversine_km
from services.booking.impact import (
    EmissionFactors, load_factors, suppress_small_cells, trip_avoided,
)

# Round figures so that the hand computation is easy to follow.
FACTORS = EmissionFactors("test-1", 1.3, {"car": 0.2, "train": 0.03, "bike": 0.0})
# Two points 10 km apart on a meridian (0.0899322 degrees of latitude).
HOME = (45.0, 2.0)
RELAY_10_KM = (45.0 + 10 / 111.19508, 2.0)


def test_the_hand_computed_points_are_10_km_apart():
    assert haversine_km(*HOME, *RELAY_10_KM) == pytest.approx(10.0, abs=1e-3)


def test_a_day_at_a_relay_near_home_instead_of_a_long_drive():
    # 45 km each way by car; the relay is 10 km away, 13 km by road:
    # 2 x (45 - 13) = 64 km avoided, 64 x 0.2 = 12.8 kg CO2e.
    trip = trip_avoided(45, "car", HOME, RELAY_10_KM, 2, FACTORS)
    assert (trip.known, trip.km_avoided, trip.kg_co2e_avoided) == (True, 64.0, 12.8)
    assert (trip.mode, trip.factor_kg_per_km, trip.factors_version) == ("car", 0.2, "test-1")


def test_a_half_day_counts_half_a_trip():
    # Half of 64 km: 32 km, 6.4 kg.
    trip = trip_avoided(45, "car", HOME, RELAY_10_KM, 1, FACTORS)
    assert (trip.km_avoided, trip.kg_co2e_avoided) == (32.0, 6.4)


def test_a_relay_farther_than_the_office_adds_a_trip():
    # 8 km to the office by train; 13 km to the relay: 2 x (8 - 13) = -10 km, -0.3 kg.
    trip = trip_avoided(8, "train", HOME, RELAY_10_KM, 2, FACTORS)
    assert (trip.known, trip.km_avoided, trip.kg_co2e_avoided) == (True, -10.0, -0.3)


def test_cycling_avoids_kilometres_but_no_co2():
    trip = trip_avoided(20, "bike", HOME, RELAY_10_KM, 2, FACTORS)
    assert (trip.km_avoided, trip.kg_co2e_avoided) == (14.0, 0.0)


@pytest.mark.parametrize("commute_km, mode, home, because", [
    (None, None, None, "no-commute-declared"),
    (30, None, HOME, "no-commute-declared"),
    (None, "car", HOME, "no-commute-declared"),
    (30, "car", None, "no-home-declared"),
    (30, "other", HOME, "no-factor-for-mode"),
])
def test_without_a_profile_the_trip_is_unknown_never_zero(commute_km, mode, home, because):
    trip = trip_avoided(commute_km, mode, home, RELAY_10_KM, 2, FACTORS)
    assert (trip.known, trip.km_avoided, trip.kg_co2e_avoided, trip.unknown_because) == (
        False, None, None, because)


def test_the_factors_file_names_its_source_date_and_version():
    data = json.loads(load_factors.__defaults__[0].read_text())
    assert {"version", "source", "url", "retrieved_on", "unit", "status", "factors"} <= set(data)
    # Every factor says where in ADEME's published data it comes from.
    assert set(data["factors"]) <= set(data["provenance"])
    factors = load_factors()
    assert factors.version == data["version"] and factors.detour_factor == 1.3
    assert set(factors.kg_per_km) == {"car", "carpool", "motorbike", "train", "bus", "bike", "walk"}
    assert all(value >= 0 for value in factors.kg_per_km.values())



def test_a_day_by_car_with_the_published_factor():
    # ADEME's thermal car, 0.192 fuel + 0.0256 construction = 0.2176 kg per km:
    # 64 km avoided (above) x 0.2176 = 13.9264, 13.93 kg CO2e.
    trip = trip_avoided(45, "car", HOME, RELAY_10_KM, 2, load_factors())
    assert (trip.km_avoided, trip.factor_kg_per_km, trip.kg_co2e_avoided) == (64.0, 0.2176, 13.93)


def test_a_regional_train_commute_with_the_published_factor():
    # ADEME's TER, 0.00479 + 0.0229 = 0.02769 kg per km; a half-day, 2 x (30 - 13) / 2
    # = 17 km avoided, 17 x 0.02769 = 0.47073, 0.47 kg CO2e.
    trip = trip_avoided(30, "train", HOME, RELAY_10_KM, 1, load_factors())
    assert (trip.km_avoided, trip.factor_kg_per_km, trip.kg_co2e_avoided) == (17.0, 0.02769, 0.47)


def test_carpooling_is_the_car_shared_by_two_as_impactco2_counts_it():
    # impactCO2's carpool: the car's value divided by (passengers + 1), one passenger.
    factors = load_factors()
    assert factors.kg_per_km["carpool"] == 0.1088 == round(factors.kg_per_km["car"] / 2, 4)

def test_cells_of_fewer_than_five_people_are_blanked():
    rows = [{"relay": "Aubusson", "month": "2026-11", "people": 12, "km_avoided": 1500.0},
            {"relay": "Felletin", "month": "2026-11", "people": 4, "km_avoided": 230.0},
            {"relay": "Guéret", "month": "2026-11", "people": 5, "km_avoided": 410.0}]
    assert suppress_small_cells(rows) == [
        {"relay": "Aubusson", "month": "2026-11", "people": 12, "km_avoided": 1500.0,
         "suppressed": False},
        {"relay": "Felletin", "month": "2026-11", "people": None, "km_avoided": None,
         "suppressed": True},
        {"relay": "Guéret", "month": "2026-11", "people": 5, "km_avoided": 410.0,
         "suppressed": False}]
