"""Waiting for what happens asynchronously (events, other processes), shared by
the integration and end-to-end tests."""
import time


def wait_for(predicate, timeout=10, interval=0.05):
    """Poll until ``predicate()`` is truthy; return its value (or the last one)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
