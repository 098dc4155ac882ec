"""An injected clock for tests: time-machine moves the test process's clock
(datetime.now, date.today, time.time) and keeps it ticking.

The services of the integration tests run in the test process, so they see the
same moment as the test. End-to-end tests start their services as separate
processes: they follow the real clock and choose their days by rule
(devtools/dates.py) instead. PostgreSQL's own ``now()`` is not moved: a test that
moves the clock writes instants computed in Python, never ``now()`` in SQL.
"""
from datetime import datetime, time, timezone

import time_machine

from devtools.dates import PARIS


def travel_to(moment):
    """A time-machine traveller to ``moment``; a date means 10:00 in Paris that
    day (within opening hours). Use it as a context manager, or start/stop it."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(10, 0), PARIS)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS)
    # In UTC, like the machines: time-machine would otherwise also move the
    # process's local time zone to the destination's.
    return time_machine.travel(moment.astimezone(timezone.utc), tick=True)
