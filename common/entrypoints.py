"""The two shapes that service entrypoints repeat, written once.

``consumes(event_type)``: a reliable consumer (``common.consumer``) that loads
the event's data through its contract (``contracts.events``) and runs
``handler(self, uow, data, event)`` once per event id: the inbox mark commits
with the handler's effect, so a redelivered event changes nothing.
``one_at_a_time=True`` for a slow handler: its queue hands it one event at a
time, leaving the container's other workers to its RPCs.

``also=(effect, ...)``: more effects of the same event in the same consumer,
instead of a consumer (a queue, a worker, a transaction, an ack) each. Each
effect ``effect(self, uow, data, event)`` keeps its own inbox mark (named after
it, as its consumer was), so a redelivery skips what is done. They run first,
in order, then the handler, all in one transaction; they must only write to
the database, since the handler may talk to the outside (send a mail) and so
comes last. When one of them raises, that transaction rolls back and every
other one runs again, each in a transaction of its own (a mail waiting for a
contact does not hold a webhook back); then the error is raised, so the event
is retried (common.consumer) for what failed only.

``consumes_in_batches(event_type)``: the same, for a handler
``handler(self, uow, batch)`` of a list of ``(data, event)``, called with the
events a ``common.consumer.BatchEventHandler`` gathered (those that arrived
while the previous batch was handled; one at low load). One transaction for
the batch: the inbox marks of all its events by one statement, then the
handler with the new ones only (a redelivered event, or a second copy of one
in the same batch, is skipped), one commit. If that transaction fails, each
event is tried again in a transaction of its own, so that only the one that
fails goes to its retry queue and the others commit.

``idempotent(request_schema)``: an RPC that creates something. The decorated
use case ``method(self, uow, caller, data, *targets)`` becomes the RPC
``method(self, caller, *targets, payload, idempotency_key=None)``: it loads the
caller and the payload, then in one unit of work runs the use case once per
``Idempotency-Key``, scoped to the operation, the caller and the targets (the
relay, the organisation...). A retry gets the first answer back; the same key
with another payload is refused. A use case that also names ``payload`` gets
the request as sent. ``lock=lambda caller, data: key``: the advisory lock the
use case takes first (``uow.advisory_lock(key)``), taken instead with the
key's claim, in its statement (``UnitOfWork.idempotent``): a round trip less.
"""
import functools
import inspect
import logging
import uuid

from common.caller import load_caller
from common.consumer import consume_event
from common.db import database_unavailable
from common.validation import load
from contracts import events

log = logging.getLogger(__name__)


def consumes(event_type, one_at_a_time=False, also=()):
    def decorate(handler):
        steps = tuple(also) + (handler,)

        @functools.wraps(handler)
        def consume(self, event):
            data = events.load(event)
            if also:
                _all_at_once(self, steps, data, event)
                return
            with self.db.unit_of_work() as uow:
                _once(self, uow, handler, data, event)

        del consume.__wrapped__  # nameko calls it as (self, event)
        return consume_event(events.source_of(event_type), event_type, one_at_a_time)(consume)
    return decorate


def consumes_in_batches(event_type):
    def decorate(handler):
        @functools.wraps(handler)
        def consume(self, envelopes):
            return _handle_batch(self, handler, envelopes)

        del consume.__wrapped__  # nameko calls it as (self, envelopes)
        return consume_event(events.source_of(event_type), event_type, batches=True)(consume)
    return decorate


def _handle_batch(self, handler, envelopes):
    """Handle a batch of envelopes; returns ``{position: exception}`` of the
    events that failed (``common.consumer.BatchEventHandler`` retries those)."""
    failed, todo, seen = {}, [], set()
    for position, event in enumerate(envelopes):
        event_id = str(uuid.UUID(event["event_id"]))  # as the inbox returns it
        if event_id in seen:
            continue  # a second copy in this batch: the first one does it
        seen.add(event_id)
        try:
            todo.append((position, event_id, events.load(event), event))
        except Exception as exc:  # data its contract refuses: this event only
            failed[position] = exc
    if not todo:
        return failed
    consumer = _inbox_name(self, handler)
    try:
        with self.db.unit_of_work() as uow:
            new = uow.mark_batch_handled([event_id for _, event_id, _, _ in todo], consumer)
            fresh = [(data, event) for _, event_id, data, event in todo if event_id in new]
            if fresh:
                handler(self, uow, fresh)
    except Exception as exc:
        if len(todo) == 1 or database_unavailable(exc):  # apart, they would fail alike
            failed.update((position, exc) for position, *_ in todo)
        else:
            log.warning("%s.%s: a batch of %s events failed (%s: %s); each on its own now",
                        self.name, handler.__name__, len(todo), type(exc).__name__, exc)
            failed.update(_batch_apart(self, handler, consumer, todo))
    return failed


def _batch_apart(self, handler, consumer, todo):
    """After a batch's transaction failed: each event in a transaction of its
    own; ``{position: exception}`` of those that fail again."""
    failed = {}
    for position, event_id, data, event in todo:
        try:
            with self.db.unit_of_work() as uow:
                if uow.mark_batch_handled([event_id], consumer):
                    handler(self, uow, [(data, event)])
        except Exception as exc:
            failed[position] = exc
    return failed


def _all_at_once(self, steps, data, event):
    """The steps not done yet in one transaction, their inbox marks written by
    one statement; if one raises, the others each apart, then its error."""
    failed = None
    try:
        with self.db.unit_of_work() as uow:
            to_do = uow.mark_all_handled(event, [_inbox_name(self, step) for step in steps])
            for failed in steps:
                if _inbox_name(self, failed) in to_do:
                    failed(self, uow, data, event)
            failed = None
    except Exception:
        if failed is None:  # the marks or the commit: nothing was done
            raise
        _each_apart(self, [step for step in steps if step is not failed], data, event)
        raise


def _inbox_name(self, step):
    return f"{self.name}.{step.__name__}"


def _once(self, uow, step, data, event):
    """``step`` unless its inbox mark says it was done."""
    if uow.mark_handled(event, _inbox_name(self, step)):
        step(self, uow, data, event)


def _each_apart(self, steps, data, event):
    """After one effect failed: the others, each in a transaction of its own,
    so they are done once whatever becomes of it. One failing too is logged
    (the event is retried anyway)."""
    for step in steps:
        try:
            with self.db.unit_of_work() as uow:
                _once(self, uow, step, data, event)
        except Exception:
            log.exception("%s.%s failed too on event %s", self.name, step.__name__,
                          event.get("event_id"))


def idempotent(request_schema, operation=None, lock=None):
    def decorate(use_case):
        extra = list(inspect.signature(use_case).parameters)[4:]  # after self, uow, caller, data
        targets = [name for name in extra if name != "payload"]
        signature = _rpc_signature(targets)
        scope_name = operation or use_case.__name__
        # Built once: building a marshmallow schema deep-copies its fields, which
        # costs more than loading the payload (~90 us against ~35 us for the
        # booking request); a schema keeps no state between loads.
        schema = request_schema()

        @functools.wraps(use_case)
        def entrypoint(self, *args, **kwargs):
            call = signature.bind(self, *args, **kwargs)
            call.apply_defaults()
            given = call.arguments
            caller = load_caller(given["caller"])
            data = load(schema, given["payload"])
            named = {name: given[name] for name in extra}
            scope = ":".join([scope_name, caller.user_id] + [str(given[name]) for name in targets])
            with self.db.unit_of_work() as uow:
                return uow.idempotent(scope, given["idempotency_key"], given["payload"],
                                      lambda: use_case(self, uow, caller, data, **named),
                                      lock=lock(caller, data) if lock is not None else None)

        del entrypoint.__wrapped__
        entrypoint.__signature__ = signature  # what nameko checks a call against
        return entrypoint
    return decorate


def _rpc_signature(targets):
    def positional(name, **default):
        return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, **default)
    return inspect.Signature(
        [positional("self"), positional("caller")] + [positional(name) for name in targets]
        + [positional("payload"), positional("idempotency_key", default=None)])
