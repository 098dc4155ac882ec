from datetime import date

import holidays
import pytest

from services.booking.public_holidays import (
    department_of_postcode, easter_sunday, holiday_name, public_holidays,
)


@pytest.mark.parametrize("year, easter", [
    (2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)),
    (2027, date(2027, 3, 28)), (2038, date(2038, 4, 25)), (2285, date(2285, 3, 22)),
    (1818, date(1818, 3, 22)), (2000, date(2000, 4, 23)),
])
def test_easter_sunday(year, easter):
    assert easter_sunday(year) == easter


def test_metropolitan_france_has_eleven_public_holidays_with_the_movable_ones():
    days = public_holidays(2026, "23")
    assert len(days) == 11
    assert days[date(2026, 4, 6)] == "Lundi de Pâques"
    assert days[date(2026, 5, 14)] == "Ascension"
    assert days[date(2026, 5, 25)] == "Lundi de Pentecôte"
    assert date(2026, 4, 3) not in days  # Good Friday is only Alsace-Moselle's


@pytest.mark.parametrize("department", ["57", "67", "68"])
def test_alsace_moselle_adds_good_friday_and_st_stephen(department):
    days = public_holidays(2026, department)
    assert len(days) == 13
    assert days[date(2026, 4, 3)] == "Vendredi saint"
    assert days[date(2026, 12, 26)] == "Saint Étienne"


@pytest.mark.parametrize("department, day", [
    ("971", date(2026, 5, 27)), ("972", date(2026, 5, 22)), ("973", date(2026, 6, 10)),
    ("974", date(2026, 12, 20)), ("976", date(2026, 4, 27)),
])
def test_overseas_departments_have_their_abolition_of_slavery_day(department, day):
    assert holiday_name(day, department) == "Abolition de l'esclavage"
    assert holiday_name(day, "23") is None
    assert len(public_holidays(2026, department)) == 12


@pytest.mark.parametrize("postcode, department", [
    ("23200", "23"), ("01000", "01"), ("20000", "2A"), ("20200", "2B"), ("97300", "973"),
    ("97400", "974"), ("98714", "987"),
])
def test_department_of_postcode(postcode, department):
    assert department_of_postcode(postcode) == department


# booking keeps its own calendar rather than the ``holidays`` library (see the
# README's decisions). Their dates agree here, the demo data's Creuse included
# (it reads the library); they differ in Guadeloupe, Martinique, Saint-Martin,
# Wallis-et-Futuna and Polynésie.
@pytest.mark.parametrize("year", [2024, 2026, 2027, 2038])
@pytest.mark.parametrize("department, subdivision", [
    ("23", None), ("57", "57"), ("67", "6AE"), ("68", "6AE"), ("973", "973"), ("974", "974"),
    ("976", "976"), ("977", "BL"), ("988", "NC"),
])
def test_the_holidays_library_gives_the_same_dates_here(
        year, department, subdivision):
    assert set(public_holidays(year, department)) == set(
        holidays.France(years=year, subdiv=subdivision))
