"""The hand-over of deliveries a consumer leased (webhook_dispatcher.py)."""
import time

import eventlet

from services.notify.webhook_dispatcher import WebhookDispatcher


def dispatcher(slots):
    handed = WebhookDispatcher()
    handed.pool = eventlet.GreenPool(slots)
    handed.sent = []
    handed._deliver = lambda delivery: handed.sent.append(delivery["id"])
    return handed


def test_leased_deliveries_are_sent_as_slots_free_up():
    handed = dispatcher(slots=1)
    handed._dispatch_until([{"id": n} for n in range(3)], time.monotonic() + 60)
    handed.pool.waitall()
    assert handed.sent == [0, 1, 2]


def test_a_delivery_still_waiting_for_a_slot_at_half_its_lease_is_left_to_the_claimers():
    """Sending it after its lease ended could send it twice (a claimer took it)."""
    handed = dispatcher(slots=1)
    handed._dispatch_until([{"id": n} for n in range(3)], time.monotonic() - 1)
    handed.pool.waitall()
    assert handed.sent == []
