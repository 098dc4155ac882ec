"""The audience rule (services/booking/audience.py): first match wins."""
import pytest

from services.booking.audience import AUDIENCES, audience_of
from services.booking.impact import suppress_small_cells

PROGRAMME = "00000000-0000-4000-8000-0000000000aa"


@pytest.mark.parametrize("programme_id, space_kind, organisation_kind, holds, audience", [
    (PROGRAMME, "desk", "individual", True, "resident"),
    (PROGRAMME, "teleconsultation_booth", "individual", True, "resident"),   # the programme first
    (None, "teleconsultation_booth", "corporate", False, "patient"),
    (None, "study_room", "individual", False, "student"),
    (None, "desk", "corporate", False, "corporate_employee"),
    (None, "meeting_room", "corporate", False, "corporate_employee"),
    (None, "desk", "individual", True, "resident"),       # a resident booking outside a grant
    (None, "desk", "individual", False, "freelancer"),
    (None, "desk", "relay_operator", False, "other"),
    (None, "desk", "network", False, "other"),
    (None, "desk", None, False, "other"),                 # a kind booking has not learnt
])
def test_the_audience_of_a_booking(programme_id, space_kind, organisation_kind, holds, audience):
    assert audience_of(programme_id, space_kind, organisation_kind, holds) == audience
    assert audience in AUDIENCES


def test_cells_under_five_people_are_blanked_labels_kept():
    rows = [{"relay_name": "A", "audience": "student", "people": 4, "first_visit_share": 0.5,
             "median_distance_km": 3.2, "distance_unknown": 1},
            {"relay_name": "A", "audience": "all", "people": 5, "first_visit_share": 0.4,
             "median_distance_km": 3.0, "distance_unknown": 0},
            {"relay_name": "A", "audience": "patient", "people": 0, "first_visit_share": None,
             "median_distance_km": None, "distance_unknown": 0}]
    small, shown, empty = suppress_small_cells(rows)
    assert small == {"relay_name": "A", "audience": "student", "people": None,
                     "first_visit_share": None, "median_distance_km": None,
                     "distance_unknown": None, "suppressed": True}
    assert shown == rows[1] | {"suppressed": False}
    assert empty["people"] is None and empty["suppressed"] is True
