"""Use cases of webhooks: endpoints (owned by an organisation), the deliveries
an event makes (in the consumer's unit of work, with its inbox mark), and the
bookkeeping of attempts. Sending over HTTP is ``webhook_sender.py``; the rules
are ``webhook_rules.py``."""
import json
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Interval, bindparam, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2

from common import config as env_config
from common import errors
from common.db import execute_alone
from common.outbound import resolved_addresses
from contracts import events
from services.notify import webhook_rules as rules
from services.notify.models import (
    WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret,
)


@dataclass(frozen=True)
class Settings:
    allow_loopback: bool = False
    retry_schedule_ms: tuple = rules.DEFAULT_RETRY_SCHEDULE_MS
    timeout_seconds: float = 10.0
    disable_after: timedelta = timedelta(days=5)
    lease: timedelta = timedelta(minutes=2)
    max_response_bytes: int = 64 * 1024
    excerpt_chars: int = 1000


def settings_from(config):
    """From the container config (tests) or the environment (RELAIS_WEBHOOKS_*)."""
    def get(name, default):
        value = config.get("WEBHOOKS_" + name)
        return value if value is not None else env_config.env("WEBHOOKS_" + name, default)

    schedule = get("RETRY_SCHEDULE_MS", None)
    if isinstance(schedule, str):
        schedule = [int(part) for part in schedule.split(",") if part.strip()]
    loopback = get("ALLOW_LOOPBACK", False)
    return Settings(
        allow_loopback=loopback if isinstance(loopback, bool)
        else str(loopback).lower() in ("1", "true", "yes", "on"),
        retry_schedule_ms=tuple(schedule) if schedule else rules.DEFAULT_RETRY_SCHEDULE_MS,
        timeout_seconds=float(get("TIMEOUT_SECONDS", 10)),
        disable_after=timedelta(seconds=float(get("DISABLE_AFTER_SECONDS", 5 * 86400))),
        lease=timedelta(seconds=float(get("LEASE_SECONDS", 120))),
    )


def utcnow():
    return datetime.now(timezone.utc)


# -- endpoints ------------------------------------------------------------------

def check_url(url, settings, resolve=socket.getaddrinfo):
    """The URL's form, then every address its host resolves to; InvalidInput if unsafe."""
    try:
        parts = rules.check_url_form(url, settings.allow_loopback)
        for address in resolved_addresses(parts, resolve):
            rules.check_address(address, settings.allow_loopback)
    except rules.UnsafeUrl as exc:
        raise errors.InvalidInput(str(exc), code="unsafe-webhook-url",
                                  fields={"url": [str(exc)]}) from None


def check_patterns(patterns):
    known = list(events.EVENTS)
    wrong = [p for p in patterns if not rules.valid_pattern(p, known)]
    if wrong:
        raise errors.InvalidInput("Unknown event types.", code="unknown-event-type",
                                  fields={"event_types": [f"Unknown: {', '.join(wrong)}."]})


def create_endpoint(session, caller, data, settings):
    """A new endpoint of the caller's organisation; returns it and its secret."""
    scope = rules.roles_scope(caller.roles)
    if scope is None or caller.organisation_id is None:
        raise errors.Forbidden("Webhooks are for network admins, relay managers and "
                               "corporate admins.")
    check_patterns(data["event_types"])  # before the URL: no DNS look-up for a bad request
    check_url(data["url"], settings)
    endpoint = WebhookEndpoint(
        organisation_id=caller.organisation_id, scope=scope, created_by=caller.user_id,
        relay_ids=sorted(caller.relay_ids) if scope == "relay_operator" else [],
        url=data["url"], event_types=data["event_types"], description=data["description"],
        enabled=data["enabled"])
    session.add(endpoint)
    session.flush()
    secret = rules.new_secret()
    session.add(WebhookSecret(endpoint_id=endpoint.id, secret=secret))
    session.flush()
    return endpoint, secret


def _visible(caller):
    """Endpoints the caller manages: its organisation's (if an admin of it), or all for
    the network's admins."""
    if caller.is_network_admin:
        return True
    if rules.roles_scope(caller.roles) is None or caller.organisation_id is None:
        return False
    return WebhookEndpoint.organisation_id == caller.organisation_id


def list_endpoints(session, caller, limit, offset):
    return session.execute(
        select(WebhookEndpoint).where(_visible(caller))
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id).limit(limit).offset(offset)
    ).scalars().all()


def get_endpoint(session, caller, endpoint_id, lock=False):
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == _uuid(endpoint_id), _visible(caller))
    endpoint = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if endpoint is None:
        raise errors.NotFound("No such webhook endpoint.")
    return endpoint


def _uuid(value):
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return "00000000-0000-0000-0000-000000000000"  # matches nothing: a 404


def update_endpoint(session, caller, endpoint_id, data, settings):
    endpoint = get_endpoint(session, caller, endpoint_id, lock=True)
    if "event_types" in data:
        check_patterns(data["event_types"])
    if "url" in data:
        check_url(data["url"], settings)
    for name, value in data.items():
        setattr(endpoint, name, value)
    if data.get("enabled"):
        endpoint.disabled_reason, endpoint.failing_since = None, None
    session.flush()
    return endpoint


def delete_endpoint(session, caller, endpoint_id):
    session.delete(get_endpoint(session, caller, endpoint_id, lock=True))
    session.flush()


def rotate_secret(session, caller, endpoint_id, grace_seconds, now):
    """A new secret; the current ones stay valid ``grace_seconds`` more."""
    endpoint = get_endpoint(session, caller, endpoint_id, lock=True)
    until = now + timedelta(seconds=grace_seconds)
    session.execute(update(WebhookSecret).where(
        WebhookSecret.endpoint_id == endpoint.id,
        or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > until))
        .values(expires_at=until))
    secret = rules.new_secret()
    session.add(WebhookSecret(endpoint_id=endpoint.id, secret=secret))
    session.flush()
    return endpoint, secret


# A secret signs until its grace period ends (no end: the current one);
# deliveries are signed by every valid one, the newest first.
_VALID_SECRET = "(webhook_secrets.expires_at IS NULL OR webhook_secrets.expires_at > :now)"


# -- deliveries -----------------------------------------------------------------

def delivery_id_for(endpoint_id, event_id):
    """``msg_`` and a UUID derived from endpoint and event: the same event for the
    same endpoint always has the same webhook-id."""
    return "msg_" + uuid.uuid5(uuid.UUID(endpoint_id), str(event_id)).hex


_ENABLED_ENDPOINTS = select(
    WebhookEndpoint.id, WebhookEndpoint.scope, WebhookEndpoint.organisation_id,
    WebhookEndpoint.relay_ids, WebhookEndpoint.event_types, WebhookEndpoint.url,
).where(WebhookEndpoint.enabled.is_(True))

_NEW_DELIVERY = insert(WebhookDelivery.__table__).values(
    id=bindparam("id"), endpoint_id=bindparam("endpoint_id"), event_id=bindparam("event_id"),
    event_type=bindparam("event_type"), occurred_at=bindparam("occurred_at"),
    payload=bindparam("payload"), status="pending", attempts=0,
    next_attempt_at=func.now() + bindparam("lease", type_=Interval),
).on_conflict_do_nothing()


@dataclass
class Offered:
    """What ``fan_out`` wrote: deliveries leased to this process, to send as
    soon as they are committed (as ``claim_due`` gives them), and how many
    more are due for whoever claims them first."""
    leased: list
    due: int

    def __len__(self):
        return len(self.leased) + self.due


# An event's delivery rows and the secrets of those leased, in one round trip:
# the payload sent (and serialised) once for all the rows.
_NEW_DELIVERIES = text("""
    WITH offered AS (
        INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, occurred_at,
                                        payload, status, attempts, next_attempt_at)
        SELECT given.id, given.endpoint_id, CAST(:event_id AS uuid), :event_type,
               CAST(:occurred_at AS timestamptz), CAST(:payload AS jsonb), 'pending', 0,
               now() + given.lease
        FROM unnest(CAST(:ids AS text[]), CAST(:endpoint_ids AS uuid[]),
                    CAST(:leases AS interval[])) AS given (id, endpoint_id, lease)
        ON CONFLICT DO NOTHING)
    SELECT CAST(endpoint_id AS text), secret FROM webhook_secrets
    WHERE endpoint_id = ANY(CAST(:leased AS uuid[])) AND """ + _VALID_SECRET + """
    ORDER BY created_at DESC""")


def fan_out(uow, event, data, lease=0, settings=None, endpoints=None):
    """A delivery row for every enabled endpoint that wants and may see this
    event; in the consumer's unit of work, so it commits with the inbox mark.

    The first ``lease`` of them are written already claimed (leased for
    ``settings.lease``, as ``claim_due`` would) and returned with their URL
    and secrets, for the caller to send once committed: no claim pass between
    the event and its webhooks. Should the process die first, the lease ends
    and they are claimed again. The rest are due at once. Two statements
    built once: the endpoints, then the rows written and the leased ones'
    secrets read by one. ``endpoints``: the enabled endpoints, when the
    caller read them already (with a booking event's member: deliveries.py)."""
    data = events.dump(event["type"], data)
    if endpoints is None:
        endpoints = uow.session.execute(_ENABLED_ENDPOINTS)
    endpoints = [endpoint for endpoint in endpoints
                 if rules.wants(endpoint.event_types, event["type"]) and rules.may_see(
                     endpoint.scope, endpoint.organisation_id, endpoint.relay_ids,
                     event["type"], data)]
    if not endpoints:
        return Offered([], 0)
    body = rules.payload(event, data)
    ids = [delivery_id_for(endpoint.id, event["event_id"]) for endpoint in endpoints]
    leased = endpoints[:lease]
    secrets = {}
    for endpoint_id, secret in uow.session.execute(_NEW_DELIVERIES, {
            "event_id": event["event_id"], "event_type": event["type"],
            "occurred_at": event["occurred_at"], "payload": json.dumps(body),
            "ids": ids, "endpoint_ids": [endpoint.id for endpoint in endpoints],
            "leases": [settings.lease for _ in leased] + [timedelta(0)] * (len(ids) - len(leased)),
            "leased": [endpoint.id for endpoint in leased], "now": utcnow()}):
        secrets.setdefault(endpoint_id, []).append(secret)
    return Offered([{"id": delivery_id, "endpoint_id": endpoint.id, "url": endpoint.url,
                     "payload": body, "secrets": secrets.get(endpoint.id, [])}
                    for delivery_id, endpoint in zip(ids, leased)], len(endpoints) - len(leased))


def _add_delivery(session, endpoint, event, body):
    session.execute(_NEW_DELIVERY, {
        "id": delivery_id_for(endpoint.id, event["event_id"]), "endpoint_id": endpoint.id,
        "event_id": event["event_id"], "event_type": event["type"],
        "occurred_at": event["occurred_at"], "payload": body, "lease": timedelta(0)})


def send_test_event(session, caller, endpoint_id, now):
    """A ``webhook.test`` delivery to this endpoint only, sent like any other."""
    endpoint = get_endpoint(session, caller, endpoint_id)
    event = {"event_id": str(uuid.uuid4()), "type": rules.TEST_EVENT_TYPE,
             "occurred_at": now.isoformat()}
    _add_delivery(session, endpoint, event, rules.payload(
        event, {"endpoint_id": endpoint.id, "message": "A test event from Relais."}))
    session.flush()
    return get_delivery(session, delivery_id_for(endpoint.id, event["event_id"]))


# Claimed with their endpoint's URL and valid secrets (newest first), by one
# statement: the claim is a round trip, not three.
_CLAIM = text("""
    UPDATE webhook_deliveries AS delivery SET next_attempt_at = :leased_until
    FROM webhook_endpoints AS endpoint
    WHERE endpoint.id = delivery.endpoint_id AND delivery.id IN (
        SELECT due.id FROM webhook_deliveries AS due
        JOIN webhook_endpoints AS due_endpoint ON due_endpoint.id = due.endpoint_id
        WHERE due.status = 'pending' AND due.next_attempt_at <= :now AND due_endpoint.enabled
        ORDER BY due.next_attempt_at LIMIT :limit
        FOR UPDATE OF due SKIP LOCKED)
    RETURNING delivery.id, CAST(delivery.endpoint_id AS text) AS endpoint_id, delivery.payload,
        endpoint.url,
        ARRAY(SELECT secret FROM webhook_secrets
              WHERE webhook_secrets.endpoint_id = delivery.endpoint_id AND """ + _VALID_SECRET + """
              ORDER BY webhook_secrets.created_at DESC) AS secrets""")


def claim_due(session, now, settings, limit):
    """Due deliveries of enabled endpoints, leased for ``settings.lease`` so
    that another replica (SKIP LOCKED) or a later pass does not send them too;
    a crash mid-send leaves them to be retried when the lease ends."""
    return [{"id": row.id, "endpoint_id": row.endpoint_id, "url": row.url,
             "payload": row.payload, "secrets": list(row.secrets)}
            for row in session.execute(_CLAIM, {"now": now, "leased_until": now + settings.lease,
                                                "limit": limit})]


# Successes, several in one statement: the deliveries done, their attempts
# logged, their endpoints no longer failing (locked only if they were, so that
# successes to one endpoint do not wait for each other). An endpoint deleted
# meanwhile took its deliveries with it: nothing is written for them.
_SUCCEEDED = text("""
    WITH given AS (
        SELECT * FROM unnest(CAST(:delivery_ids AS text[]),
                             CAST(:attempted_ats AS timestamptz[]),
                             CAST(:status_codes AS integer[]), CAST(:latencies_ms AS integer[]),
                             CAST(:excerpts AS text[]))
            AS given (delivery_id, attempted_at, status_code, latency_ms, excerpt)),
    done AS (
        UPDATE webhook_deliveries AS delivery SET status = 'succeeded',
            attempts = delivery.attempts + 1, last_status_code = given.status_code
        FROM given WHERE delivery.id = given.delivery_id
        RETURNING delivery.id, delivery.endpoint_id),
    logged AS (
        INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_ms,
                                      response_excerpt)
        SELECT given.delivery_id, given.attempted_at, given.status_code, given.latency_ms,
               given.excerpt
        FROM given WHERE given.delivery_id IN (SELECT id FROM done))
    UPDATE webhook_endpoints SET failing_since = NULL
    WHERE id IN (SELECT endpoint_id FROM done) AND failing_since IS NOT NULL""")


# The same as plain SQL for psycopg2 alone (``record_successes_alone``), as
# SQLAlchemy renders it for psycopg2 (a regular expression would also take a
# ``::type`` cast for a parameter).
_SUCCEEDED_SQL = str(_SUCCEEDED.compile(dialect=PGDialect_psycopg2()))


def record_successes(session, succeeded, settings):
    """Log the successful attempts ``[(delivery id, outcome)]`` by one statement."""
    if succeeded:
        session.execute(_SUCCEEDED, _successes(succeeded, settings))


def record_successes_alone(engine, succeeded, settings):
    """``record_successes`` as a statement committed on its own: one
    statement is one transaction already, so no BEGIN nor COMMIT (two round
    trips a batch less)."""
    if succeeded:
        execute_alone(engine, _SUCCEEDED_SQL, _successes(succeeded, settings))


def _successes(succeeded, settings):
    return {
        "delivery_ids": [delivery_id for delivery_id, _ in succeeded],
        "attempted_ats": [outcome["attempted_at"] for _, outcome in succeeded],
        "status_codes": [outcome["status_code"] for _, outcome in succeeded],
        "latencies_ms": [outcome["latency_ms"] for _, outcome in succeeded],
        "excerpts": [outcome["excerpt"][:settings.excerpt_chars] for _, outcome in succeeded]}


def record_attempt(session, delivery_id, outcome, settings):
    """Log one attempt and schedule what follows. Returns the endpoint if this
    failure disabled it (its owner is then mailed), else None."""
    if rules.succeeded(outcome["status_code"]):
        record_successes(session, [(delivery_id, outcome)], settings)
        return None
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:  # its endpoint was deleted meanwhile
        return None
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id, with_for_update=True)
    at = outcome["attempted_at"]
    session.add(WebhookAttempt(
        delivery_id=delivery.id, attempted_at=at, status_code=outcome["status_code"],
        latency_ms=outcome["latency_ms"],
        response_excerpt=outcome["excerpt"][:settings.excerpt_chars], error=outcome["error"]))
    delivery.attempts += 1
    delivery.last_status_code = outcome["status_code"]
    delay = rules.next_attempt_delay(delivery.attempts, settings.retry_schedule_ms)
    if delay is None:
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = at + delay
    endpoint.failing_since = endpoint.failing_since or at
    if endpoint.enabled and at - endpoint.failing_since >= settings.disable_after:
        endpoint.enabled = False
        endpoint.disabled_reason = (f"Every delivery failed since "
                                    f"{endpoint.failing_since.isoformat()}.")
        return endpoint
    return None


def replay_one(session, caller, endpoint_id, delivery_id, now):
    """Send the delivery again, with the same webhook-id, whatever its status."""
    endpoint = get_endpoint(session, caller, endpoint_id)
    delivery = session.execute(select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id)
        .with_for_update()).scalar_one_or_none()
    if delivery is None:
        raise errors.NotFound("No such delivery.")
    delivery.status, delivery.next_attempt_at = "pending", now
    session.flush()
    return delivery


def replay_range(session, caller, endpoint_id, since, until, now):
    endpoint = get_endpoint(session, caller, endpoint_id)
    if until <= since:
        raise errors.InvalidInput("until must come after since.",
                                  fields={"until": ["Must come after since."]})
    result = session.execute(update(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id,
        WebhookDelivery.occurred_at >= since, WebhookDelivery.occurred_at < until)
        .values(status="pending", next_attempt_at=now))
    return result.rowcount


def list_deliveries(session, caller, endpoint_id, query):
    endpoint = get_endpoint(session, caller, endpoint_id)
    select_ = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if query.get("status"):
        select_ = select_.where(WebhookDelivery.status == query["status"])
    found = session.execute(
        select_.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(query["limit"]).offset(query["offset"])).scalars().all()
    return [_with_attempts(session, delivery) for delivery in found]


def get_delivery(session, delivery_id):
    return _with_attempts(session, session.get(WebhookDelivery, delivery_id))


def _with_attempts(session, delivery):
    attempts = session.execute(
        select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(WebhookAttempt.id)).scalars().all()
    return {**{c.name: getattr(delivery, c.name) for c in WebhookDelivery.__table__.columns},
            "attempt_log": attempts}
