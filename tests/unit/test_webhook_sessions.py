"""Which kept sessions common.outbound.PinnedSessions closes (no network: a
session opens no connection until a call)."""
from urllib.parse import urlsplit

from common.outbound import PinnedSessions


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def parts(host="hooks.example"):
    return urlsplit(f"https://{host}/hook")


def test_one_session_per_checked_address_and_the_same_one_again():
    kept = PinnedSessions()
    with kept.session(parts(), "203.0.113.5") as first:
        pass
    with kept.session(parts(), "203.0.113.5") as again:
        pass
    with kept.session(parts(), "203.0.113.6") as moved:
        pass
    assert again is first and moved is not first and len(kept) == 2


def test_a_session_idle_too_long_is_closed_and_replaced():
    clock = Clock()
    kept = PinnedSessions(max_idle_seconds=1.5, clock=clock)
    with kept.session(parts(), "203.0.113.5") as first:
        pass
    clock.now += 2
    with kept.session(parts(), "203.0.113.5") as later:
        pass
    assert later is not first and len(kept) == 1


def test_a_session_in_use_is_not_closed_however_long_it_takes():
    clock = Clock()
    kept = PinnedSessions(max_idle_seconds=1.5, max_sessions=1, clock=clock)
    with kept.session(parts("slow.example"), "203.0.113.5") as slow:
        clock.now += 10
        with kept.session(parts(), "203.0.113.6"):
            assert len(kept) == 2               # over the bound while both are in use
        assert [key[1] for key in kept._kept] == ["slow.example"]
        with kept.session(parts("slow.example"), "203.0.113.5") as same:
            assert same is slow
    clock.now += 1
    with kept.session(parts("slow.example"), "203.0.113.5") as after:
        assert after is slow


def test_at_most_max_sessions_are_kept_the_least_recently_used_closed_first():
    kept = PinnedSessions(max_sessions=2)
    for host in ("a.example", "b.example", "c.example"):
        with kept.session(parts(host), "203.0.113.5"):
            pass
    assert [key[1] for key in kept._kept] == ["b.example", "c.example"]


def test_sessions_are_closed_in_the_order_they_were_last_used_not_taken():
    """A long call taken first and released last must not shield a session
    taken after it but idle since."""
    clock = Clock()
    kept = PinnedSessions(max_idle_seconds=1.5, clock=clock)
    with kept.session(parts("slow.example"), "203.0.113.5"):
        clock.now += 1
        with kept.session(parts("brief.example"), "203.0.113.6"):
            pass
        clock.now += 9                          # brief.example idle since
    clock.now += 1
    with kept.session(parts("new.example"), "203.0.113.7"):
        pass
    assert [key[1] for key in kept._kept] == ["slow.example", "new.example"]
