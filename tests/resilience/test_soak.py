"""A small soak (bench/soak.py) in CI: two replicas of every service and of
the gateway, replicas killed with SIGKILL and restarted while members book
and cancel over HTTP; every end check passes (no double booking, one usage
line and one mail per booking event, outboxes published, dead letters none,
every replica ready). The full soak (thousands of bookings) is run by hand:
bench/README.md."""
import pytest

from bench.soak import report, soak

pytestmark = pytest.mark.timeout(600)


def test_a_small_soak_loses_and_doubles_nothing():
    figures = soak(bookings=150, seed_value=14, clients=6, think=1.0, kill_every=2.0, pause=1.0)
    print("\n" + report(figures))
    assert sum(figures["kills"].values()) >= 3, figures["kills"]   # the chaos did strike
    assert figures["confirmed"] > 0
    failed = [(name, detail) for name, ok, detail in figures["checks"] if not ok]
    assert not failed, failed
