"""The public API: each route names the RPC it calls and the schemas of its
body, query and answer. The same table drives request handling and the OpenAPI
document, so the two cannot disagree.

RPC keyword arguments are built by name: ``caller`` (the verified token's
context), each path parameter, ``payload`` (the JSON body), ``query`` (the query
string, validated) and ``idempotency_key`` (the ``Idempotency-Key`` header).
"""
from dataclasses import dataclass, field

from services.billing.schemas import RateCardSchema, UsageLineQuerySchema, UsageLineSchema
from services.booking.schemas import (
    BookingCreateSchema, BookingListQuerySchema, BookingSchema, RelayCreateSchema,
    RelayListQuerySchema, RelaySchema, SpaceSchema,
)
from services.identity.schemas import (
    OrganisationSchema, TokenRequestSchema, TokenSchema, UserCreateSchema, UserSchema,
)
from services.notify.schemas import DeliveryQuerySchema, DeliverySchema


@dataclass(frozen=True)
class Route:
    method: str
    path: str                       # OpenAPI style: /v1/relays/{relay_id}
    service: str
    rpc: str
    summary: str
    tag: str
    response: type | None = None
    many: bool = False
    status: int = 200
    body: type | None = None
    query: type | None = None
    authenticated: bool = True
    idempotent_create: bool = False
    passes_caller: bool = True
    errors: tuple = field(default=(400, 401, 403, 404, 422))

    @property
    def name(self):
        return f"{self.service}.{self.rpc}"


ROUTES = [
    Route("POST", "/v1/auth/token", "identity", "issue_token",
          "Log in: trade an e-mail and password for an access token", "Auth",
          response=TokenSchema, body=TokenRequestSchema, authenticated=False,
          passes_caller=False, errors=(400, 401, 422)),

    Route("POST", "/v1/organisations", "identity", "create_organisation",
          "Create an organisation (network admins)", "Organisations",
          response=OrganisationSchema, status=201, body=OrganisationSchema,
          idempotent_create=True),
    Route("GET", "/v1/organisations/{organisation_id}", "identity", "get_organisation",
          "An organisation", "Organisations", response=OrganisationSchema),
    Route("POST", "/v1/organisations/{organisation_id}/users", "identity", "create_user",
          "Add a user to an organisation", "Users", response=UserSchema, status=201,
          body=UserCreateSchema, idempotent_create=True, errors=(400, 401, 403, 404, 409, 422)),
    Route("GET", "/v1/users/{user_id}", "identity", "get_user", "A user", "Users",
          response=UserSchema),

    Route("POST", "/v1/relays", "booking", "create_relay",
          "Open a relay (network admins)", "Relays", response=RelaySchema, status=201,
          body=RelayCreateSchema, idempotent_create=True),
    Route("GET", "/v1/relays", "booking", "list_relays", "The relay directory", "Relays",
          response=RelaySchema, many=True, query=RelayListQuerySchema, authenticated=False,
          passes_caller=False, errors=(400, 422)),
    Route("GET", "/v1/relays/{relay_id}", "booking", "get_relay", "A relay and its spaces",
          "Relays", response=RelaySchema, authenticated=False, passes_caller=False,
          errors=(404,)),
    Route("POST", "/v1/relays/{relay_id}/spaces", "booking", "create_space",
          "Add a desk or a room to a relay", "Relays", response=SpaceSchema, status=201,
          body=SpaceSchema, idempotent_create=True, errors=(400, 401, 403, 404, 409, 422)),

    Route("POST", "/v1/relays/{relay_id}/rate-cards", "billing", "set_rate_card",
          "Set the half-day price of a kind of space at a relay", "Billing",
          response=RateCardSchema, status=201, body=RateCardSchema, idempotent_create=True,
          errors=(400, 401, 403, 404, 409, 422)),
    Route("GET", "/v1/relays/{relay_id}/rate-cards", "billing", "list_rate_cards",
          "A relay's rate cards", "Billing", response=RateCardSchema, many=True,
          passes_caller=False, errors=(401, 404)),
    Route("GET", "/v1/usage-lines", "billing", "list_usage_lines",
          "Usage lines visible to the caller", "Billing", response=UsageLineSchema,
          many=True, query=UsageLineQuerySchema),

    Route("POST", "/v1/bookings", "booking", "book", "Book a space for a slot", "Bookings",
          response=BookingSchema, status=201, body=BookingCreateSchema,
          idempotent_create=True, errors=(400, 401, 403, 404, 409, 422)),
    Route("GET", "/v1/bookings", "booking", "list_bookings",
          "Bookings visible to the caller", "Bookings", response=BookingSchema, many=True,
          query=BookingListQuerySchema),
    Route("GET", "/v1/bookings/{booking_id}", "booking", "get_booking", "A booking",
          "Bookings", response=BookingSchema),

    Route("GET", "/v1/deliveries", "notify", "list_deliveries",
          "Messages sent (network admins and ops)", "Notifications",
          response=DeliverySchema, many=True, query=DeliveryQuerySchema),
]

SERVICES = ("identity", "booking", "billing", "notify")
