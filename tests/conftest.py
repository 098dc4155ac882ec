"""Test-session set-up shared by every layer.

eventlet's monkey patch must run before anything imports sockets, and
psycogreen must make psycopg2 cooperative, exactly as in a service process.
"""
import warnings

warnings.filterwarnings("ignore", message="\nEventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

from psycogreen.eventlet import patch_psycopg  # noqa: E402

patch_psycopg()

# -- the clock ------------------------------------------------------------------
# RELAIS_TEST_TODAY=2026-12-01 (or 2026-12-01T23:40, Paris time) runs the whole
# session as if it were that moment (tests/clock.py).
import os  # noqa: E402
from datetime import date, datetime  # noqa: E402

import pytest  # noqa: E402

from tests.clock import PARIS, travel_to  # noqa: E402


def pytest_configure(config):
    injected = os.environ.get("RELAIS_TEST_TODAY")
    if injected:
        moment = datetime.fromisoformat(injected)
        config._relais_clock = travel_to(moment if "T" in injected else moment.date())
        config._relais_clock.start()


def pytest_report_header(config):
    injected = os.environ.get("RELAIS_TEST_TODAY")
    return f"clock: {'injected, ' + injected if injected else 'real'} (RELAIS_TEST_TODAY)"


@pytest.fixture
def daytime():
    """Within the relays' opening hours: a test that needs a slot running now,
    run between 22:00 and 06:00 in Paris, moves the clock to 10:00 Paris the next
    morning (or this morning) instead of skipping."""
    now = datetime.now(PARIS)
    if 6 <= now.hour < 22:
        yield now
        return
    morning = now.date() if now.hour < 6 else date.fromordinal(now.date().toordinal() + 1)
    with travel_to(morning):
        yield datetime.now(PARIS)
