"""The public open-data export: per relay and month, who the relay serves,
without anyone in it (who_benefits.py computes the figures): distinct people
by audience (and ``all``), the share of them on a first visit to that relay,
the median straight-line distance from their (coarse, about 1 km) home and
how many declared none. Cells of fewer than 5 people are blanked; no id of a
relay, a member, a booking or an organisation leaves, only the relay's public
name and place.
"""
from services.booking import impact_report, who_benefits

LICENCE = ("# Licence Ouverte / Open Licence 2.0 (Etalab), "
           "https://www.etalab.gouv.fr/licence-ouverte-open-licence - Relais des Possibles")
COLUMNS = tuple(column for column in who_benefits.COLUMNS if column != "relay_id")


def relay_use_csv(session, month):
    return impact_report.to_csv(COLUMNS, who_benefits.figures(session, month), LICENCE + "\n")
