"""One consumer doing several effects of an event (``consumes(..., also=...)``)
against a real PostgreSQL: one transaction when all goes well; when one effect
fails, the others commit once each and a redelivery does only the failed one.

Each effect here writes an outbox row naming itself (a real row, written at
commit, gone with a rollback); the inbox marks are the real ones."""
import pytest
from sqlalchemy import text

from common.entrypoints import consumes
from common.events import make_envelope
from tests.integration.conftest import rows


class Refused(Exception):
    pass


class Consumer:
    """What a nameko worker of a service holds: ``name`` and ``db``."""
    name = "identity"

    def __init__(self, db):
        self.db = db
        self.failing = {}       # effect name -> how it fails this time
        self.transactions = 0

    def did(self, uow, effect):
        uow.publish("identity.user_deactivated", {"user_id": effect})
        how = self.failing.get(effect)
        if how == "raises":
            raise Refused(f"{effect} refused")
        if how == "breaks the transaction":
            uow.session.execute(text("SELECT 1 / 0"))

    def remember(self, uow, data, event):
        self.did(uow, "remember")

    def offer(self, uow, data, event):
        self.did(uow, "offer")

    @consumes("identity.user_deactivated", also=(remember, offer))
    def mail(self, uow, data, event):
        self.did(uow, "mail")


@pytest.fixture
def consumer(identity_db):
    consumer = Consumer(identity_db)
    real = identity_db.unit_of_work

    def counted():
        consumer.transactions += 1
        return real()
    identity_db.unit_of_work = counted
    return consumer


def event():
    return make_envelope("identity", "identity.user_deactivated", {
        "user_id": "u-1", "organisation_id": "o-1", "deactivated_at": "2026-03-02T10:00:00+00:00"})


def done(databases):
    """Effects done (outbox rows) and inbox marks, sorted."""
    effects = sorted(r["envelope"]["data"]["user_id"]
                     for r in rows(databases["identity"], "SELECT envelope FROM outbox"))
    marks = sorted(r["consumer"] for r in rows(databases["identity"], "SELECT consumer FROM inbox"))
    return effects, marks


ALL = (["mail", "offer", "remember"], ["identity.mail", "identity.offer", "identity.remember"])


def test_every_effect_in_one_transaction_each_under_its_own_mark(consumer, databases):
    the_event = event()
    consumer.mail(the_event)
    assert consumer.transactions == 1
    assert done(databases) == ALL

    consumer.mail(the_event)  # redelivered: nothing again
    assert done(databases) == ALL


@pytest.mark.parametrize("how", ["raises", "breaks the transaction"])
@pytest.mark.parametrize("failing", ["remember", "offer", "mail"])
def test_one_effect_failing_does_not_hold_the_others_and_is_all_a_retry_does(
        consumer, databases, failing, how):
    the_event = event()
    consumer.failing = {failing: how}
    with pytest.raises(Exception):
        consumer.mail(the_event)   # the event goes to a retry queue (common.consumer)
    # the one transaction rolled back, then each other effect had its own
    assert consumer.transactions == 3
    effects, marks = done(databases)
    assert failing not in effects and f"identity.{failing}" not in marks
    assert len(effects) == 2 and len(marks) == 2

    consumer.failing, consumer.transactions = {}, 0
    consumer.mail(the_event)       # the retry
    assert consumer.transactions == 1
    assert done(databases) == ALL  # each effect once


def test_two_effects_failing_leave_the_third_done_and_both_retried(consumer, databases):
    the_event = event()
    consumer.failing = {"remember": "raises", "mail": "raises"}
    with pytest.raises(Refused, match="remember refused"):
        consumer.mail(the_event)
    assert done(databases) == (["offer"], ["identity.offer"])

    consumer.failing = {}
    consumer.mail(the_event)
    assert done(databases) == ALL


def test_a_failed_commit_leaves_nothing_done_and_runs_nothing_apart(consumer, databases,
                                                                    monkeypatch):
    session = consumer.db.session
    real_commit = session.commit

    def refused_once():
        monkeypatch.setattr(session, "commit", real_commit)
        session.rollback()
        raise Refused("commit refused")
    monkeypatch.setattr(session, "commit", refused_once)
    the_event = event()
    with pytest.raises(Refused, match="commit refused"):
        consumer.mail(the_event)
    assert consumer.transactions == 1
    assert done(databases) == ([], [])

    consumer.mail(the_event)
    assert done(databases) == ALL
