"""Webhooks' pure rules: who may receive which event, signatures a Standard
Webhooks library accepts, URLs refused, the retry schedule."""
import ast
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from contracts import events
from services.notify import webhook_rules as rules

ROOT = Path(__file__).resolve().parents[2]
COMPANY, OTHER = "00000000-0000-4000-8000-0000000000c1", "00000000-0000-4000-8000-0000000000c2"
RELAY, OTHER_RELAY = "00000000-0000-4000-8000-0000000000r1", "00000000-0000-4000-8000-0000000000r2"


def test_every_event_type_has_a_scope_rule():
    """A new event type must say who may see it, or no company would be safe."""
    assert set(rules.SCOPE_RULES) == set(events.EVENTS)
    for event_type, (company_field, relay_field) in rules.SCOPE_RULES.items():
        schema_fields = set(events.schema_of(event_type).fields)
        assert company_field is None or company_field in schema_fields, event_type
        assert relay_field is None or relay_field in schema_fields, event_type
    for event_type, operator_field in rules.OPERATOR_RULES.items():
        assert operator_field in events.schema_of(event_type).fields, event_type


def test_every_event_type_is_offered_to_webhooks():
    """By a consumer of its own (``webhooks_<type>``) or as an effect of the
    type's one consumer (``also=(webhooks_<type>, ...)``)."""
    tree = ast.parse((ROOT / "services/notify/service.py").read_text())
    consumers = [(node.name, d) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                 for d in node.decorator_list
                 if isinstance(d, ast.Call) and getattr(d.func, "id", None) == "consumes"]
    fanned_out = [d.args[0].value for name, d in consumers if name.startswith("webhooks_")]
    fanned_out += [d.args[0].value for name, d in consumers for keyword in d.keywords
                   if keyword.arg == "also" for effect in keyword.value.elts
                   if effect.id == f"webhooks_{d.args[0].value.replace('.', '_')}"]
    assert sorted(fanned_out) == sorted(events.EVENTS)


@pytest.mark.parametrize("event_type", sorted(events.EVENTS))
def test_a_company_never_sees_another_companys_event(event_type):
    data = {"organisation_id": OTHER, "relay_id": RELAY}
    assert not rules.may_see("company", COMPANY, [], event_type, data)
    assert not rules.may_see("relay_operator", COMPANY, [OTHER_RELAY], event_type, data)
    assert rules.may_see("network", COMPANY, [], event_type, data)


def test_a_company_sees_its_members_bookings_and_a_relay_operator_its_relays():
    booking = {"organisation_id": COMPANY, "relay_id": RELAY}
    assert rules.may_see("company", COMPANY, [], "booking.confirmed", booking)
    assert rules.may_see("relay_operator", OTHER, [RELAY], "booking.confirmed", booking)
    assert not rules.may_see("company", COMPANY, [], "billing.rate_card_set", {"relay_id": RELAY})
    assert rules.may_see("relay_operator", OTHER, [RELAY], "billing.rate_card_set",
                         {"relay_id": RELAY})


def test_a_relay_operator_gets_its_settlements_and_a_company_its_invoices():
    settlement = {"organisation_id": OTHER}
    assert rules.may_see("relay_operator", OTHER, [], "billing.settlement_issued", settlement)
    assert not rules.may_see("company", OTHER, [], "billing.settlement_issued", settlement)
    invoice = {"organisation_id": COMPANY}
    assert rules.may_see("company", COMPANY, [], "billing.invoice_finalized", invoice)
    assert not rules.may_see("relay_operator", COMPANY, [RELAY], "billing.invoice_finalized",
                             invoice)


def test_patterns_and_wildcards():
    known = list(events.EVENTS)
    assert rules.valid_pattern("booking.*", known) and rules.valid_pattern("*", known)
    assert rules.valid_pattern("booking.confirmed", known)
    assert not rules.valid_pattern("bookings.*", known)
    assert not rules.valid_pattern("booking.exploded", known)
    assert rules.wants(["booking.*"], "booking.cancelled")
    assert not rules.wants(["booking.*"], "billing.rate_card_set")


def test_the_payload_hides_handles_and_carries_the_event_id_and_time():
    event = {"event_id": "e1", "type": "identity.user_provisioned",
             "occurred_at": "2027-01-04T10:00:00+00:00"}
    body = rules.payload(event, {"user_id": "u", "invitation_id": "i"})
    assert body == {"type": "identity.user_provisioned", "event_id": "e1",
                    "timestamp": "2027-01-04T10:00:00+00:00", "data": {"user_id": "u"}}


def test_signatures_verify_with_the_standard_webhooks_library_old_and_new_secret():
    old, new = rules.new_secret(), rules.new_secret()
    body = json.dumps({"type": "webhook.test"}).encode()
    timestamp = int(time.time())  # the library refuses stale timestamps
    header = rules.signature_header([new, old], "msg_1", timestamp, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(timestamp),
               "webhook-signature": header}
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"type": "webhook.test"}
    with pytest.raises(WebhookVerificationError):
        Webhook(rules.new_secret()).verify(body, headers)


@pytest.mark.parametrize("url", ["http://example.org/hook", "ftp://example.org/",
                                 "https://user:pw@example.org/", "https:///nohost"])
def test_urls_refused_by_form(url):
    with pytest.raises(rules.UnsafeUrl):
        rules.check_url_form(url, allow_loopback=True)


def test_http_only_to_loopback_and_only_when_allowed():
    rules.check_url_form("http://127.0.0.1:9000/hook", allow_loopback=True)
    with pytest.raises(rules.UnsafeUrl):
        rules.check_url_form("http://127.0.0.1:9000/hook", allow_loopback=False)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.1.1", "172.16.0.1",
                                     "169.254.169.254", "::1", "fd00::1", "0.0.0.0",
                                     "::ffff:127.0.0.1", "224.0.0.1", "100.64.0.1"])
def test_non_public_addresses_are_refused(address):
    with pytest.raises(rules.UnsafeUrl):
        rules.check_address(address, allow_loopback=False)


def test_public_addresses_pass_and_loopback_only_when_allowed():
    rules.check_address("93.184.216.34", allow_loopback=False)
    rules.check_address("127.0.0.1", allow_loopback=True)
    with pytest.raises(rules.UnsafeUrl):
        rules.check_address("10.0.0.1", allow_loopback=True)


def test_the_retry_schedule_then_give_up():
    schedule = rules.DEFAULT_RETRY_SCHEDULE_MS
    assert rules.next_attempt_delay(1, schedule) == timedelta(seconds=5)
    assert rules.next_attempt_delay(2, schedule) == timedelta(minutes=5)
    assert rules.next_attempt_delay(7, schedule) == timedelta(hours=10)
    assert rules.next_attempt_delay(8, schedule) is None


def test_roles_give_the_widest_scope():
    assert rules.roles_scope({"network_admin", "member"}) == "network"
    assert rules.roles_scope({"relay_manager"}) == "relay_operator"
    assert rules.roles_scope({"corporate_admin"}) == "company"
    assert rules.roles_scope({"member", "network_ops"}) is None
