"""PostgreSQL for a nameko service: one engine per container, one session per
worker, and a unit of work that commits state changes, outgoing events (outbox),
handled events (inbox) and idempotency records in one transaction.
"""
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from contextlib import contextmanager

from nameko.extensions import DependencyProvider
from sqlalchemy import (
    BigInteger, Column, DateTime, Index, MetaData, PrimaryKeyConstraint, Table,
    Text, bindparam, create_engine, event, func, select, text,
)
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID, insert
from sqlalchemy.orm import DeclarativeBase, Session

from common import config, errors, metrics
from common.events import make_envelope
from common.production import is_production
from contracts import events

log = logging.getLogger(__name__)

# The key of the HMAC that stands for a request in the idempotency table. A
# request may hold a secret (a new user's password), so the table keeps a keyed
# hash, not a bare SHA-256 anyone could test guesses against. Every replica must
# share the key (a per-process random one would make retries look like reused
# keys): deployments set RELAIS_IDEMPOTENCY_HMAC_KEY; this default is for a
# developer's machine only.
DEV_IDEMPOTENCY_HMAC_KEY = "relais-dev-idempotency-key-not-for-production"


def hash_request(request):
    """HMAC-SHA256 of the request as canonical JSON."""
    key = config.env("IDEMPOTENCY_HMAC_KEY") or DEV_IDEMPOTENCY_HMAC_KEY
    if key == DEV_IDEMPOTENCY_HMAC_KEY and is_production():  # the start-up check missed it
        raise RuntimeError("RELAIS_IDEMPOTENCY_HMAC_KEY is not set in production")
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()

# Alembic and the database agree on constraint names only if they are fixed.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_engine(url, **options):
    """An engine that never puts SQL parameters in its exceptions: a failing
    statement may carry a password hash, a token hash or personal data, and
    exception messages end in logs."""
    return create_engine(url, hide_parameters=True, **options)


# A pooled connection idle for longer than this is pinged before use (see
# ``ping_after_idle``); one in steady use is not.
PING_AFTER_IDLE_SECONDS = 10.0


def ping_after_idle(engine, idle_seconds=PING_AFTER_IDLE_SECONDS):
    """``pool_pre_ping``, but only for connections that sat idle in the pool.

    ``pool_pre_ping`` costs a round trip on every checkout, that is on every
    RPC, event and outbox pass. A connection that served a request a moment
    ago is alive; the ones at risk are those left idle while PostgreSQL
    restarted or a proxy dropped them. Those are pinged, and a dead one is
    replaced before the caller sees it (the pool retries the checkout on
    ``DisconnectionError``). A connection that dies while in use fails its
    statement, SQLAlchemy invalidates the pool, and the transaction rolls back
    whole, as it would with ``pool_pre_ping``: state-changing RPCs carry an
    idempotency key and events are redelivered, so a retry is safe."""

    @event.listens_for(engine, "checkin")
    def remember_checkin(dbapi_connection, record):
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, record, proxy):
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return  # brand new, or in steady use
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("idle pooled connection is dead") from exc

    return engine


# SQLSTATE classes of a database that is going or gone: 08 connection
# exception, 57 operator intervention (57P01 terminated by an administrator,
# 57P03 starting up...), except 57014, a statement cancelled by its timeout.
_UNAVAILABLE_CLASSES = ("08", "57")
_QUERY_CANCELED = "57014"


def database_unavailable(exc):
    """True when ``exc`` says PostgreSQL is out of reach (restarting, down, or
    our connection cut), not that the statement was wrong: the request may be
    tried again in a moment. SQLAlchemy has then invalidated the pool's
    connections, so the next checkout opens new ones: the service recovers
    without a restart."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "pgcode", None)
    # no SQLSTATE at all: the client could not reach the server
    return isinstance(exc, OperationalError) and (
        code is None or (code[:2] in _UNAVAILABLE_CLASSES and code != _QUERY_CANCELED))


def core_execute(session, statement, params=None):
    """Run a Core statement (one naming no ORM entity) on the session's
    connection, in its transaction: what ``session.execute`` does with it,
    without the ORM session's layer around (~13-40 us of CPU a statement, as
    much as psycopg2's own; the booking path's statements go this way)."""
    return session.connection().execute(statement, params)


def new_id():
    """Ids are random UUIDs, made by the service (they appear in events before
    any database default could)."""
    return str(uuid.uuid4())


def service_base():
    """A declarative base for one service's models, already holding the
    outbox, inbox and idempotency tables every service needs."""

    class Base(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING_CONVENTION)

    _define_reliability_tables(Base.metadata)
    return Base


def _define_reliability_tables(metadata):
    Table(
        "outbox", metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        Column("event_type", Text, nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    )
    Table(
        "inbox", metadata,
        Column("event_id", UUID(as_uuid=False), nullable=False),
        Column("consumer", Text, nullable=False),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("event_id", "consumer"),
    )
    Table(
        "idempotency_keys", metadata,
        Column("scope", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("request_hash", Text, nullable=False),
        Column("response", JSONB),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("scope", "key"),
    )


def advisory_lock_of(key):
    """The SQL call taking the transaction's advisory lock on the text ``key``."""
    return func.pg_advisory_xact_lock(func.hashtextextended(key, 0))


ADVISORY_LOCK = select(advisory_lock_of(bindparam("key")))
# The parameters of the statement ``UnitOfWork.write_pending`` sends for one
# event and one idempotent response.
PENDING_PARAMETERS = frozenset(("event_id", "event_type", "envelope", "b_scope", "b_key",
                                "response"))


def execute_alone(engine, statement, params):
    """One statement (plain SQL for psycopg2) committed on its own: one round
    trip, no BEGIN nor COMMIT, on a pooled connection other than the caller's;
    its first row, if it returns any. psycopg2's ``autocommit`` is a client
    flag; SQLAlchemy's AUTOCOMMIT isolation level would cost a query to set
    and another to reset (~100 us each)."""
    connection = engine.raw_connection()
    try:
        connection.dbapi_connection.autocommit = True
        cursor = connection.cursor()
        cursor.execute(statement, params)
        result = cursor.fetchone() if cursor.description else None
        connection.dbapi_connection.autocommit = False
    except BaseException:
        connection.invalidate()   # in a state nobody knows: not back to the pool
        raise
    finally:
        connection.close()
    return result


class _Statements:
    """The reliability tables' statements, built once per metadata with bound
    parameters: building a statement and its cache key cost ~90 us of CPU a
    call, as much as executing it (the inbox insert: ~170 -> ~85 us)."""

    def __init__(self, metadata):
        outbox, inbox = metadata.tables["outbox"], metadata.tables["inbox"]
        keys = metadata.tables["idempotency_keys"]
        self.mark_handled = (
            insert(inbox).values(event_id=bindparam("event_id"), consumer=bindparam("consumer"))
            .on_conflict_do_nothing().returning(inbox.c.event_id))
        self.mark_all_handled = (
            insert(inbox).from_select(["event_id", "consumer"], select(
                bindparam("event_id", type_=UUID(as_uuid=False)),
                func.unnest(bindparam("consumers", type_=ARRAY(Text)))))
            .on_conflict_do_nothing().returning(inbox.c.consumer))
        self.claim = (
            insert(keys).values(scope=bindparam("scope"), key=bindparam("key"),
                                request_hash=bindparam("request_hash"))
            .on_conflict_do_nothing().returning(keys.c.key))
        # The claim and the lock in one round trip: the lock is taken for the
        # row the claim returns, so after its insert, and not at all when the
        # key was claimed before. A request whose key another transaction is
        # claiming waits on that claim holding no lock; the other way round it
        # would hold the lock while waiting for a transaction that may want it
        # (a deadlock, with a lock that depends on more than the key's scope).
        claim = self.claim.cte("claim")
        self.claim_and_lock = select(claim.c.key, advisory_lock_of(bindparam("lock_key")))
        self.previous = select(keys.c.request_hash, keys.c.response).where(
            keys.c.scope == bindparam("b_scope"), keys.c.key == bindparam("b_key"))
        self.one_event = outbox.insert().values(
            event_id=bindparam("event_id"), event_type=bindparam("event_type"),
            envelope=bindparam("envelope"))
        self.response = (
            keys.update().where(keys.c.scope == bindparam("b_scope"),
                                keys.c.key == bindparam("b_key"))
            .values(response=bindparam("response")))
        self.one_event_and_response = self.response.add_cte(self.one_event.cte("pending_0"))
        self._carrying = {}

    def carrying(self, statement, carried):
        """``statement`` with ``carried`` (``UnitOfWork.write_at_commit``) in
        a data-modifying CTE: built once for each pair."""
        both = self._carrying.get((statement, carried))
        if both is None:
            both = self._carrying[statement, carried] = statement.add_cte(
                carried.cte("carried_0"))
        return both


def _statements(metadata):
    statements = metadata.info.get("relais_statements")
    if statements is None:
        statements = metadata.info["relais_statements"] = _Statements(metadata)
    return statements


class UnitOfWork:
    """One transaction. ``publish`` queues an event in the outbox, ``mark_handled``
    records a consumed event in the inbox; both commit with the state change.

    The outbox rows and the idempotency record's response are written by one
    statement just before the commit (``write_pending``), not one round trip
    each as they come: an ``INSERT`` of every event of the transaction, in a
    data-modifying CTE of the ``UPDATE`` of the response when there is one.
    They are still in the transaction of the state change, so a crash or a
    rollback keeps or drops them together. One published inside a savepoint is
    written at once, so that rolling back to the savepoint drops it too; it
    may then precede in the outbox an event the transaction published earlier
    (consumers never rely on the order of events: a retry reorders them
    anyway)."""

    def __init__(self, session, source_service, metadata):
        self.session = session
        self.source_service = source_service
        self.emitted = 0
        self._outbox = metadata.tables["outbox"]
        self._inbox = metadata.tables["inbox"]
        self._idempotency = metadata.tables["idempotency_keys"]
        self._statements = _statements(metadata)
        self._events = []
        self._responses = []
        self._carried = []
        self._locks = set()
        self._after_commit = []
        # What one step of the transaction read for a later one (a consumer's
        # effects, ``common.entrypoints``): one round trip instead of two.
        self.read_ahead = {}
        # Whoever commits the session (the unit_of_work context manager, or a
        # caller holding a UnitOfWork of its own), the queued rows go first.
        event.listen(session, "before_commit", self._before_commit)

    def _before_commit(self, session):
        self.write_pending()

    def close(self):
        if event.contains(self.session, "before_commit", self._before_commit):
            event.remove(self.session, "before_commit", self._before_commit)

    def publish(self, event_type, obj):
        """Queue the event ``event_type`` about ``obj`` (a dict of its facts):
        its data is dumped through the event's contract (contracts.events), the
        schema its consumers load with, and the envelope carries its version."""
        data = events.dump(event_type, obj)
        envelope = make_envelope(self.source_service, event_type, data,
                                 events.version_of(event_type))
        self.emitted += 1
        if self.session.in_nested_transaction():
            self._write([envelope], [])  # at once: it must roll back with its savepoint
        else:
            self._events.append(envelope)
        return envelope

    def write_at_commit(self, statement, params, refusal=None):
        """Queue a data-modifying ``statement`` (built once, with bound
        parameters, none named as the outbox's or the response's: ``PENDING_
        PARAMETERS``) to be sent with the outbox rows and the idempotency
        response, in the one statement written right before the commit: a
        round trip less. It is still in the transaction, before the commit,
        so nothing about what commits changes; only a failure of its own (a
        constraint) is raised later, from the commit's write: ``refusal(exc)``
        is then called with the ``IntegrityError`` and may raise what the
        caller should hear instead. In a savepoint it is written at once, so
        that its failure rolls back to the savepoint only."""
        if PENDING_PARAMETERS & params.keys():
            raise ValueError(f"named as the outbox's: {PENDING_PARAMETERS & params.keys()}")
        if self.session.in_nested_transaction():
            self._execute_carried([(statement, params, refusal)], statement, params)
        else:
            self._carried.append((statement, params, refusal))

    def _execute_carried(self, carried, statement, params):
        try:
            core_execute(self.session, statement, params)
        except IntegrityError as exc:
            for _, _, refusal in carried:
                if refusal is not None:
                    refusal(exc)
            raise

    def advisory_lock(self, key):
        """Take the transaction's advisory lock on ``key`` (released at its
        end), unless this unit of work already holds it: taken with the
        idempotency claim (``idempotent``'s ``lock``), or before. One taken in
        a savepoint is not remembered: rolling back to it releases it."""
        if key in self._locks:
            return
        core_execute(self.session, ADVISORY_LOCK, {"key": key})
        if not self.session.in_nested_transaction():
            self._locks.add(key)

    def write_pending(self):
        """Write the queued outbox rows, idempotency responses and statements
        (``write_at_commit``): called by ``DatabaseSession.unit_of_work`` right
        before it commits."""
        envelopes, responses, carried, self._events, self._responses, self._carried = (
            self._events, self._responses, self._carried, [], [], [])
        self._write(envelopes, responses, carried)

    def _write(self, envelopes, responses, carried=()):
        if len(envelopes) == 1 and len(responses) <= 1 and len(carried) <= 1:  # a booking
            (envelope,) = envelopes
            params = {"event_id": envelope["event_id"], "event_type": envelope["type"],
                      "envelope": envelope}
            if responses:
                (scope, key, response), = responses
                params.update(b_scope=scope, b_key=key, response=response)
                statement = self._statements.one_event_and_response
            else:
                statement = self._statements.one_event
            if carried:
                ((carried_statement, carried_params, _),) = carried
                statement = self._statements.carrying(statement, carried_statement)
                params.update(carried_params)
            self._execute_carried(carried, statement, params)
            return
        for one in carried:  # not the booking's shape: each its own round trip, first
            self._execute_carried([one], one[0], one[1])
        if not envelopes and len(responses) == 1:
            (scope, key, response), = responses
            core_execute(self.session, self._statements.response,
                         {"b_scope": scope, "b_key": key, "response": response})
            return
        statements = []
        if envelopes:
            statements.append(self._outbox.insert().values([
                {"event_id": envelope["event_id"], "event_type": envelope["type"],
                 "envelope": envelope} for envelope in envelopes]))
        for scope, key, response in responses:
            statements.append(
                self._idempotency.update()
                .where(self._idempotency.c.scope == scope, self._idempotency.c.key == key)
                .values(response=response))
        if not statements:
            return
        last = statements.pop()
        for number, statement in enumerate(statements):
            last = last.add_cte(statement.cte(f"pending_{number}"))
        core_execute(self.session, last)

    def after_commit(self, callback):
        """Call ``callback()`` once this unit of work has committed (never if it
        rolls back): to wake a sender of what it wrote."""
        self._after_commit.append(callback)

    def committed(self):
        for callback in self._after_commit:
            try:
                callback()
            except Exception:  # committed: the work is done, only the wake-up is lost
                log.exception("after-commit callback %r failed", callback)

    def mark_handled(self, envelope, consumer):
        """Record that ``consumer`` handled this event. False when it already had:
        the caller then does nothing (at-least-once delivery, exactly-once effect)."""
        inserted = core_execute(self.session, self._statements.mark_handled, {
            "event_id": str(envelope["event_id"]), "consumer": consumer}).first()
        return inserted is not None

    def mark_all_handled(self, envelope, consumers):
        """``mark_handled`` for several consumers at once (one statement): the
        set of those that had not handled the event yet."""
        return set(core_execute(self.session, self._statements.mark_all_handled, {
            "event_id": str(envelope["event_id"]), "consumers": list(consumers)}).scalars())

    def mark_batch_handled(self, event_ids, consumer):
        """``mark_handled`` for several events at once: the set of the ids
        (canonical UUID strings) that ``consumer`` had not handled yet. One
        ``INSERT ... VALUES (...), (...) ... RETURNING`` (SQLAlchemy's
        "insertmanyvalues" joins the rows of an insert with RETURNING), the
        ids in order, so two transactions marking overlapping batches wait
        for each other instead of deadlocking."""
        return set(core_execute(self.session, self._statements.mark_handled, [
            {"event_id": event_id, "consumer": consumer} for event_id in sorted(event_ids)]
        ).scalars())

    def idempotent(self, scope, key, request, operation, lock=None):
        """Run ``operation()`` once per (scope, key); a retry with the same key
        gets the first result back. A concurrent retry waits on the row lock of
        the first, then reads its result. Reusing a key for another request is
        refused, as the IETF Idempotency-Key draft asks.

        ``lock``: the key of an advisory lock the operation takes first thing
        (``advisory_lock``), taken here in the claim's statement, after its
        insert (a round trip less); not taken when the key was claimed before."""
        if not key:
            return operation()
        request_hash = hash_request(request)
        params = {"scope": scope, "key": key, "request_hash": request_hash}
        if lock is None:
            claimed = core_execute(self.session, self._statements.claim, params).first()
        else:
            claimed = core_execute(self.session, self._statements.claim_and_lock,
                                   dict(params, lock_key=lock)).first()
            if claimed is not None and not self.session.in_nested_transaction():
                self._locks.add(lock)
        if claimed is None:
            previous = core_execute(self.session, self._statements.previous,
                                    {"b_scope": scope, "b_key": key}).one()
            if previous.request_hash != request_hash:
                raise errors.InvalidInput(
                    "This Idempotency-Key was already used for a different request.",
                    code="idempotency-key-reused",
                )
            return previous.response
        result = operation()
        if self.session.in_nested_transaction():
            self._write([], [(scope, key, result)])
        else:
            self._responses.append((scope, key, result))   # written with the outbox, at commit
        return result


class DatabaseSession:
    """What a worker sees as ``self.db``."""

    def __init__(self, provider):
        self._provider = provider
        self._session = None

    @property
    def session(self):
        """A session for reads (and for writes that emit no event)."""
        if self._session is None:
            self._session = Session(self._provider.engine, expire_on_commit=False)
        return self._session

    @contextmanager
    def unit_of_work(self):
        uow = UnitOfWork(self.session, self._provider.container.service_name,
                         self._provider.metadata)
        try:
            yield uow
            uow.write_pending()
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        finally:
            uow.close()
        if uow.emitted:
            self._provider.outbox_has_news()
        uow.committed()

    def close(self):
        if self._session is not None:
            self._session.close()


class Database(DependencyProvider):
    """Engine per container, session per worker. It also runs the outbox relay:
    the same engine that writes outbox rows reads them back and publishes them."""

    def __init__(self, base):
        self.metadata = base.metadata

    def setup(self):
        config = self.container.config
        self.engine = ping_after_idle(make_engine(
            config["DATABASE_URL"],
            pool_size=config.get("max_workers", 10) + 2,
            max_overflow=4,
            pool_recycle=1800,
        ))
        self.workers = {}
        self._outbox_news = threading.Event()

    def start(self):
        from common.outbox import OutboxRelay  # import here: outbox imports this module
        self.relay = OutboxRelay(self.engine, self.metadata.tables["outbox"], self.container,
                                 self._outbox_news)
        self.container.spawn_managed_thread(self.relay.run, identifier="outbox-relay")
        metrics.watch_outbox(self.container, self.engine, self.metadata.tables["outbox"])
        metrics.watch_database(self.container, self.engine)

    def stop(self):
        self.relay.stop()
        self.engine.dispose()

    def kill(self):
        self.relay.stop()
        self.engine.dispose()

    def outbox_has_news(self):
        self._outbox_news.set()

    def get_dependency(self, worker_ctx):
        db = DatabaseSession(self)
        self.workers[worker_ctx] = db
        return db

    def worker_teardown(self, worker_ctx):
        db = self.workers.pop(worker_ctx, None)
        if db is not None:
            db.close()
