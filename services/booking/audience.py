"""Who a booking served, in the words of the network's funders: the audience
rule. Pure: no database, no framework.

The rule, first match wins (a person is counted once per audience they
booked as in a month, so audiences may add up to more than the relay's
people):

1. booked under a programme (``programme_id``)        -> ``resident``: programmes
   fund residents' bookings, whatever the space;
2. a ``teleconsultation_booth``                       -> ``patient``: patients of
   tele-services (the booth says who, never why);
3. a ``study_room``                                   -> ``student``;
4. booked by a member of a ``corporate`` organisation -> ``corporate_employee``;
5. an ``individual`` account holding a programme grant, booking outside it
   -> ``resident`` (residents sign up as individual accounts);
6. any other ``individual`` account                   -> ``freelancer``: here,
   anyone who books on their own account and pays for it themselves, with no
   employer's account and no programme (self-employed, job seekers, remote
   workers of a company not in the network alike);
7. anything else (network or relay operator staff, an organisation whose kind
   booking has not learnt)                            -> ``other``.
"""

AUDIENCES = ("corporate_employee", "freelancer", "resident", "student", "patient", "other")


def audience_of(programme_id, space_kind, organisation_kind, holds_programmes):
    """The audience of one booking (see the rule above)."""
    if programme_id is not None:
        return "resident"
    if space_kind == "teleconsultation_booth":
        return "patient"
    if space_kind == "study_room":
        return "student"
    if organisation_kind == "corporate":
        return "corporate_employee"
    if organisation_kind == "individual":
        return "resident" if holds_programmes else "freelancer"
    return "other"
