"""French public holidays (jours fériés) by department. Pure domain code.

Every relay is closed on the public holidays of its own department unless it
says otherwise. The national list is the Code du travail's (art. L3133-1),
Whit Monday included (most third places close on it even though it is also the
"journée de solidarité"). Alsace-Moselle (57, 67, 68) adds Good Friday and
St Stephen's day; each overseas department or collectivity adds its own day
(abolition of slavery, or its local holidays).

Easter is computed here (anonymous Gregorian algorithm, Meeus/Jones/Butcher)
rather than with a dependency: it is twenty lines and fully tested.
"""
from datetime import date, timedelta
from functools import lru_cache

ALSACE_MOSELLE = frozenset({"57", "67", "68"})

# Department or collectivity code -> (month, day, name) of its own public holidays.
LOCAL_HOLIDAYS = {
    "971": [(5, 27, "Abolition de l'esclavage")],          # Guadeloupe
    "972": [(5, 22, "Abolition de l'esclavage")],          # Martinique
    "973": [(6, 10, "Abolition de l'esclavage")],          # Guyane
    "974": [(12, 20, "Abolition de l'esclavage")],         # La Réunion
    "976": [(4, 27, "Abolition de l'esclavage")],          # Mayotte
    "977": [(10, 9, "Abolition de l'esclavage")],          # Saint-Barthélemy
    "978": [(5, 28, "Abolition de l'esclavage")],          # Saint-Martin
    "986": [(4, 28, "Saint Pierre Chanel"), (7, 29, "Fête du Territoire")],   # Wallis-et-Futuna
    "987": [(3, 5, "Arrivée de l'Évangile"), (6, 29, "Fête de l'autonomie")],  # Polynésie
    "988": [(9, 24, "Fête de la citoyenneté")],            # Nouvelle-Calédonie
}


def easter_sunday(year):
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 (the algorithm's own name)
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def department_of_postcode(postcode):
    """The department a French postcode belongs to: '23' for 23200, '2A'/'2B'
    for Corsica, '971'... for overseas."""
    if postcode.startswith("97") or postcode.startswith("98"):
        return postcode[:3]
    if postcode.startswith("20"):
        return "2A" if postcode < "20200" else "2B"
    return postcode[:2]


@lru_cache(maxsize=4096)
def public_holidays(year, department):
    """{date: name} of the public holidays observed in ``department`` in ``year``."""
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1): "Jour de l'an",
        easter + timedelta(days=1): "Lundi de Pâques",
        date(year, 5, 1): "Fête du Travail",
        date(year, 5, 8): "Victoire 1945",
        easter + timedelta(days=39): "Ascension",
        easter + timedelta(days=50): "Lundi de Pentecôte",
        date(year, 7, 14): "Fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918",
        date(year, 12, 25): "Noël",
    }
    if department in ALSACE_MOSELLE:
        days[easter - timedelta(days=2)] = "Vendredi saint"
        days[date(year, 12, 26)] = "Saint Étienne"
    for month, day, name in LOCAL_HOLIDAYS.get(department, ()):
        days[date(year, month, day)] = name
    return days


def holiday_name(day, department):
    """The name of the public holiday on ``day`` in ``department``, or None."""
    return public_holidays(day.year, department).get(day)
