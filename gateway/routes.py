"""The public API: each route names the RPC it calls and the schemas of its
body, query and answer. The same table drives request handling and the OpenAPI
document, so the two cannot disagree.

RPC keyword arguments are built by name: ``caller`` (the verified token's
context), each path parameter, ``payload`` (the JSON body), ``query`` (the query
string, validated) and ``idempotency_key`` (the ``Idempotency-Key`` header).

A route takes an access token or an API key (``credentials``); SCIM tokens
work only under /scim/v2 (gateway/scim.py). ``body_media_type`` text/csv
passes the body as ``{"csv": text}``. A route without a response schema answers
204 No Content.
"""
from dataclasses import dataclass, field

from contracts.rpc.billing import (
    CommissionSchema, ContractSchema, CreditNoteSchema, DocumentDetailSchema, DocumentQuerySchema,
    DocumentSchema, FecQuerySchema, MonthRunResultSchema, MonthRunSchema, PaymentSchema,
    RateCardSchema, RelayOperatorSchema, ResolutionSchema, SettlementReviewSchema,
    UsageLineQuerySchema, UsageLineSchema,
)
from contracts.rpc.booking import (
    BlockCreateSchema, BlockListQuerySchema, BlockSchema,
    AvailabilityQuerySchema, AvailableRelaySchema, BookingCreateSchema, BookingListQuerySchema,
    BookingSchema, CalendarFeedSchema, CancelSchema, CheckInSchema, ClosureQuerySchema,
    ClosureSchema, DayQuerySchema, OrganisationUsageQuerySchema, OrganisationUsageSchema,
    RelayCreateSchema, RelayDaySchema, RelayListQuerySchema, RelaySchema, RelayUpdateSchema,
    RelayWeekSchema, SeriesCancelledSchema, SeriesCancelSchema, SeriesCreateSchema, SeriesSchema,
    SpaceSchema, SpaceSessionsSchema, WeekQuerySchema, NetworkHealthSchema, UnmetDemandQuerySchema,
    UnmetDemandSchema,
    ImpactAuditQuerySchema, ImpactQuerySchema, ImpactReportSchema, WhoBenefitsSchema,
    ProgrammeUsageQuerySchema, ProgrammeUsageSchema,
)
from contracts.rpc.identity import (
    ApiKeyCreateSchema, AuditEntrySchema, AuditQuerySchema, CsvImportQuerySchema,
    CsvImportReportSchema, CsvImportSchema, EmailVerificationSchema, EnrolmentCreateSchema,
    EnrolmentListQuerySchema, EnrolmentSchema, GroupPolicySchema, GroupSchema, InvitationSchema,
    JoinProgrammeSchema, ProgrammeCodeSchema, ProgrammeSchema,
    MachineCredentialSchema, OrganisationListQuerySchema, OrganisationSchema, PasswordSetSchema,
    PolicySchema, ProfileSchema, RefreshRequestSchema, SignUpAcceptedSchema, SignUpSchema,
    ScimTokenCreateSchema, SsoCallbackQuerySchema, SsoDiscoverQuerySchema, SsoDiscoverySchema,
    SsoSettingsSchema, SsoStartQuerySchema, TokenRequestSchema, TokenSchema, UserCreateSchema,
    UserListQuerySchema, UserLocaleSchema, UserSchema,
)
from contracts.rpc.notify import (
    DeliveryQuerySchema, DeliverySchema, NotificationPreferenceSchema,
    NotificationPreferencesUpdateSchema, WebhookDeliveryQuerySchema, WebhookDeliverySchema,
    WebhookEndpointCreateSchema, WebhookEndpointSchema, WebhookEndpointUpdateSchema,
    WebhookReplayedSchema, WebhookReplaySchema, WebhookRotateSchema,
)
from contracts.rpc.operations import DeadLetterQueueSchema
from common.schemas import PageQuerySchema

# A route whose RPC every service answers (common/service.py): the gateway
# asks each one and joins the answers (gateway/app.py, call_every).
EVERY_SERVICE = "every"


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
    body_required: bool = True      # False: an empty body reads as {}
    media_type: str = "application/json"  # else the RPC returns the document as text
    binary: bool = False            # ... or as base64 (a PDF), sent as bytes
    errors: tuple = field(default=(400, 401, 403, 404, 422))
    credentials: tuple = ("access_token", "api_key")
    body_media_type: str = "application/json"
    # A route whose answer is costly to make (a PDF rendered on demand) may wait
    # longer than RELAIS_RPC_TIMEOUT_SECONDS; None keeps the gateway's default.
    timeout_seconds: float | None = None
    # The roles that may call the route at all, checked before the body is read:
    # a caller without any of them gets 403 and learns nothing of what the body
    # should be. None: the service alone decides (anyone may try, e.g. oneself).
    roles: tuple | None = None

    @property
    def name(self):
        return f"{self.service}.{self.rpc}"


# Who has webhooks (notify's ``roles_scope``): network admins, relay managers, corporate admins.
WEBHOOK_ROLES = ("network_admin", "relay_manager", "corporate_admin")

ROUTES = [
    Route("POST", "/v1/auth/token", "identity", "issue_token",
          "Log in: trade an e-mail and password for an access token and a refresh token",
          "Auth", response=TokenSchema, body=TokenRequestSchema, authenticated=False,
          passes_caller=False, errors=(400, 401, 403, 422, 429)),
    Route("POST", "/v1/auth/refresh", "identity", "refresh_token",
          "Trade a refresh token (single use) for new tokens", "Auth", response=TokenSchema,
          body=RefreshRequestSchema, authenticated=False, passes_caller=False,
          errors=(400, 401, 422)),
    Route("POST", "/v1/auth/logout", "identity", "log_out",
          "Log out: revoke the refresh token and every token rotated from it", "Auth",
          status=204, body=RefreshRequestSchema, authenticated=False, passes_caller=False,
          errors=(400, 422)),
    Route("POST", "/v1/auth/password", "identity", "set_password",
          "Set one's password with an invitation token (single use)", "Auth",
          response=UserSchema, body=PasswordSetSchema, authenticated=False,
          passes_caller=False, errors=(400, 401, 422, 429)),
    Route("POST", "/v1/residents/sign-up", "identity", "sign_up",
          "A resident signs up (an individual account): a mail goes to the address, with a "
          "link to verify it, or saying it already has an account. The same answer either way",
          "Auth", response=SignUpAcceptedSchema, status=202, body=SignUpSchema,
          authenticated=False, passes_caller=False, errors=(400, 422, 429)),
    Route("POST", "/v1/residents/verify", "identity", "verify_email",
          "Verify a resident's e-mail with the link's token (single use): the account is "
          "made and they can log in", "Auth", response=UserSchema, status=201,
          body=EmailVerificationSchema, authenticated=False, passes_caller=False,
          errors=(400, 401, 409, 422, 429)),

    Route("GET", "/v1/sso/discover", "identity", "sso_discover",
          "Whether single sign-on covers an e-mail address's domain (never whether an "
          "account exists)", "Auth", response=SsoDiscoverySchema, query=SsoDiscoverQuerySchema,
          authenticated=False, passes_caller=False, errors=(400, 422)),
    Route("GET", "/v1/sso/start", "identity", "sso_begin",
          "Sign in with one's company account: a redirect to the company's identity "
          "provider (OpenID Connect, PKCE)", "Auth", status=302, query=SsoStartQuerySchema,
          authenticated=False, passes_caller=False, errors=(400, 404, 422, 429)),
    Route("GET", "/v1/sso/callback", "identity", "sso_complete",
          "Where the identity provider sends the person back: the platform's tokens, as a "
          "log-in gives (the state is single use)", "Auth", response=TokenSchema,
          query=SsoCallbackQuerySchema, authenticated=False, passes_caller=False,
          errors=(400, 401, 422)),

    Route("POST", "/v1/organisations", "identity", "create_organisation",
          "Create an organisation (network admins)", "Organisations",
          response=OrganisationSchema, status=201, body=OrganisationSchema,
          idempotent_create=True),
    Route("GET", "/v1/organisations", "identity", "list_organisations",
          "Organisations visible to the caller", "Organisations",
          response=OrganisationSchema, many=True, query=OrganisationListQuerySchema),
    Route("GET", "/v1/organisations/{organisation_id}", "identity", "get_organisation",
          "An organisation", "Organisations", response=OrganisationSchema),
    Route("GET", "/v1/organisations/{organisation_id}/policy", "identity", "get_policy",
          "A corporate account's booking policy", "Organisations", response=PolicySchema),
    Route("PUT", "/v1/organisations/{organisation_id}/policy", "identity", "set_policy",
          "Replace a corporate account's booking policy", "Organisations",
          response=PolicySchema, body=PolicySchema, roles=("network_admin", "corporate_admin")),
    Route("GET", "/v1/organisations/{organisation_id}/sso", "identity", "get_sso_settings",
          "A corporate account's single sign-on settings (never the client secret)",
          "Organisations", response=SsoSettingsSchema),
    Route("PUT", "/v1/organisations/{organisation_id}/sso", "identity", "set_sso_settings",
          "Set a corporate account's OpenID Connect provider (its discovery document is "
          "read first), the e-mail domains it covers, and whether passwords remain allowed",
          "Organisations", response=SsoSettingsSchema, body=SsoSettingsSchema,
          roles=("network_admin", "corporate_admin"), errors=(400, 401, 403, 404, 409, 422)),
    Route("DELETE", "/v1/organisations/{organisation_id}/sso", "identity",
          "delete_sso_settings", "Switch single sign-on off: passwords work again",
          "Organisations", status=204, roles=("network_admin", "corporate_admin")),
    Route("GET", "/v1/organisations/{organisation_id}/groups", "identity", "list_groups",
          "A corporate account's groups (pushed by its identity provider over SCIM), "
          "with their policies", "Organisations", response=GroupSchema, many=True),
    Route("GET", "/v1/organisations/{organisation_id}/groups/{group_id}/policy", "identity",
          "get_group_policy", "The booking policy of a group's members", "Organisations",
          response=GroupPolicySchema),
    Route("PUT", "/v1/organisations/{organisation_id}/groups/{group_id}/policy", "identity",
          "set_group_policy", "Map a group to a booking policy: its members book under it "
          "(the most generous of their groups' policies wins)", "Organisations",
          response=GroupPolicySchema, body=GroupPolicySchema,
          roles=("network_admin", "corporate_admin")),
    Route("DELETE", "/v1/organisations/{organisation_id}/groups/{group_id}/policy", "identity",
          "delete_group_policy", "Its members book under the corporate policy again",
          "Organisations", status=204, roles=("network_admin", "corporate_admin")),
    Route("GET", "/v1/organisations/{organisation_id}/audit-log", "identity",
          "list_audit_entries", "Administrative changes, newest first", "Organisations",
          response=AuditEntrySchema, many=True, query=AuditQuerySchema),

    Route("POST", "/v1/organisations/{organisation_id}/users", "identity", "create_user",
          "Add a user to an organisation (without a password: an invitation is mailed)",
          "Users", response=UserSchema, status=201,
          body=UserCreateSchema, idempotent_create=True, errors=(400, 401, 403, 404, 409, 422)),
    Route("GET", "/v1/organisations/{organisation_id}/users", "identity", "list_users",
          "An organisation's users", "Users", response=UserSchema, many=True,
          query=UserListQuerySchema),
    Route("POST", "/v1/organisations/{organisation_id}/users/import", "identity",
          "import_users", "Import employees from a CSV file (dry_run=true: only report)",
          "Users", response=CsvImportReportSchema, body=CsvImportSchema,
          query=CsvImportQuerySchema, body_media_type="text/csv"),
    Route("GET", "/v1/users/{user_id}", "identity", "get_user", "A user", "Users",
          response=UserSchema),
    Route("POST", "/v1/users/{user_id}/deactivate", "identity", "deactivate_user",
          "Deactivate a user: no more log-in, tokens revoked, bookings cancelled", "Users",
          response=UserSchema),
    Route("PUT", "/v1/users/{user_id}/locale", "identity", "set_user_locale",
          "Choose the language a user's mails are written in (the user or their admins)",
          "Users", response=UserSchema, body=UserLocaleSchema),
    Route("POST", "/v1/users/{user_id}/invitation", "identity", "invite_user",
          "Mail a new invitation to a user who has not set a password (older links die)",
          "Users", response=InvitationSchema, errors=(401, 403, 404, 409, 429)),
    Route("GET", "/v1/users/{user_id}/profile", "identity", "get_profile",
          "An employee's commute profile (the employee and their corporate admins)", "Users",
          response=ProfileSchema),
    Route("PUT", "/v1/users/{user_id}/profile", "identity", "set_profile",
          "Replace an employee's commute profile", "Users", response=ProfileSchema,
          body=ProfileSchema),

    Route("GET", "/v1/organisations/{organisation_id}/programme", "identity", "get_programme",
          "What a programme grants the residents it enrols", "Programmes",
          response=ProgrammeSchema),
    Route("PUT", "/v1/organisations/{organisation_id}/programme", "identity", "set_programme",
          "Replace what a programme grants: kinds of space, relays, hours and days a month "
          "per resident, period, communes or départements", "Programmes",
          response=ProgrammeSchema, body=ProgrammeSchema,
          roles=("network_admin", "programme_admin")),
    Route("POST", "/v1/organisations/{organisation_id}/programme/code", "identity",
          "issue_programme_code", "A new invitation code residents type to join (shown once; "
          "the previous one stops working)", "Programmes", response=ProgrammeCodeSchema,
          status=201, body_required=False, roles=("network_admin", "programme_admin"),
          credentials=("access_token",)),
    Route("POST", "/v1/organisations/{organisation_id}/enrolments", "identity",
          "enrol_resident", "Enrol a resident by e-mail (counts once the address has a "
          "resident's account; the same answer either way)", "Programmes",
          response=EnrolmentSchema, status=201, body=EnrolmentCreateSchema,
          roles=("network_admin", "programme_admin")),
    Route("GET", "/v1/organisations/{organisation_id}/enrolments", "identity",
          "list_enrolments", "A programme's enrolments", "Programmes",
          response=EnrolmentSchema, many=True, query=EnrolmentListQuerySchema),
    Route("POST", "/v1/organisations/{organisation_id}/enrolments/{enrolment_id}/end",
          "identity", "end_enrolment", "End an enrolment (bookings already made stay)",
          "Programmes", response=EnrolmentSchema, body_required=False,
          roles=("network_admin", "programme_admin")),
    Route("POST", "/v1/programme-enrolments", "identity", "join_programme",
          "A resident joins a programme with its invitation code", "Programmes",
          response=EnrolmentSchema, status=201, body=JoinProgrammeSchema,
          credentials=("access_token",), errors=(400, 401, 403, 404, 422, 429)),

    Route("POST", "/v1/organisations/{organisation_id}/api-keys", "identity", "create_api_key",
          "Create an API key (its secret is shown once)", "Credentials",
          response=MachineCredentialSchema, status=201, body=ApiKeyCreateSchema),
    Route("GET", "/v1/organisations/{organisation_id}/api-keys", "identity", "list_api_keys",
          "An organisation's API keys (never their secrets)", "Credentials",
          response=MachineCredentialSchema, many=True),
    Route("DELETE", "/v1/organisations/{organisation_id}/api-keys/{key_id}", "identity",
          "revoke_api_key", "Revoke an API key", "Credentials",
          response=MachineCredentialSchema),
    Route("POST", "/v1/organisations/{organisation_id}/scim-tokens", "identity",
          "create_scim_token", "Create a SCIM token for the identity provider (shown once)",
          "Credentials", response=MachineCredentialSchema, status=201,
          body=ScimTokenCreateSchema),
    Route("GET", "/v1/organisations/{organisation_id}/scim-tokens", "identity",
          "list_scim_tokens", "An organisation's SCIM tokens (never their secrets)",
          "Credentials", response=MachineCredentialSchema, many=True),
    Route("DELETE", "/v1/organisations/{organisation_id}/scim-tokens/{token_id}", "identity",
          "revoke_scim_token", "Revoke a SCIM token", "Credentials",
          response=MachineCredentialSchema),

    Route("POST", "/v1/relays", "booking", "create_relay",
          "Open a relay (network admins)", "Relays", response=RelaySchema, status=201,
          body=RelayCreateSchema, idempotent_create=True, roles=("network_admin",)),
    Route("GET", "/v1/relays", "booking", "list_relays",
          "The relay directory: near a point (nearest first), by service, by department",
          "Relays", response=RelaySchema, many=True, query=RelayListQuerySchema,
          authenticated=False, passes_caller=False, errors=(400, 422)),
    Route("GET", "/v1/relays/{relay_id}", "booking", "get_relay",
          "A relay's page: details, spaces, and what is free in the next 7 days",
          "Relays", response=RelaySchema, authenticated=False, passes_caller=False,
          errors=(404,)),
    Route("PATCH", "/v1/relays/{relay_id}", "booking", "update_relay",
          "Change a relay: opening hours, services, contact, no-show release, check-in code "
          "(its managers; network admins for name and place)", "Relays", response=RelaySchema,
          body=RelayUpdateSchema, roles=("network_admin", "relay_manager")),
    Route("POST", "/v1/relays/{relay_id}/spaces", "booking", "create_space",
          "Add a space to a relay: a desk, a meeting room, a tele-consultation booth, a visio "
          "or a study room", "Relays", response=SpaceSchema, status=201,
          body=SpaceSchema, idempotent_create=True, errors=(400, 401, 403, 404, 409, 422)),
    Route("POST", "/v1/relays/{relay_id}/blocks", "booking", "create_block",
          "Hold a block of spaces for an organisation every weekday of a period (its "
          "managers, network admins); unused places are released release_hours before",
          "Reserved capacity", response=BlockSchema, status=201, body=BlockCreateSchema,
          idempotent_create=True, errors=(400, 401, 403, 404, 409, 422),
          roles=("network_admin", "relay_manager")),
    Route("GET", "/v1/blocks", "booking", "list_blocks",
          "Blocks of reserved capacity: a relay's (its managers), an organisation's (its "
          "admins), all (network staff)", "Reserved capacity", response=BlockSchema,
          many=True, query=BlockListQuerySchema,
          roles=("network_admin", "network_ops", "relay_manager", "corporate_admin")),
    Route("POST", "/v1/blocks/{block_id}/cancel", "booking", "cancel_block",
          "End a block: its places to come are free at once (its relay's managers)",
          "Reserved capacity", response=BlockSchema,
          roles=("network_admin", "relay_manager")),
    Route("PUT", "/v1/spaces/{space_id}/sessions", "booking", "set_space_sessions",
          "Set the sessions a space is booked by (e.g. 09:00–11:00); none: by the hour "
          "(its relay's managers)", "Relays", response=SpaceSchema, body=SpaceSessionsSchema,
          roles=("network_admin", "relay_manager")),
    Route("GET", "/v1/relays/{relay_id}/closures", "booking", "list_closures",
          "A relay's closures and public holidays in a window", "Relays",
          response=ClosureSchema, many=True, query=ClosureQuerySchema, authenticated=False,
          passes_caller=False, errors=(404, 422)),
    Route("POST", "/v1/relays/{relay_id}/closures", "booking", "add_closure",
          "Close a relay for some days (its bookings then are cancelled, not late-billed)",
          "Relays", response=ClosureSchema, status=201, body=ClosureSchema,
          idempotent_create=True),
    Route("DELETE", "/v1/relays/{relay_id}/closures/{closure_id}", "booking", "delete_closure",
          "Reopen: remove a closure", "Relays"),
    Route("GET", "/v1/relays/{relay_id}/day", "booking", "relay_day",
          "A relay manager's day: arrivals, occupancy, check-in code", "Relay management",
          response=RelayDaySchema, query=DayQuerySchema),
    Route("GET", "/v1/relays/{relay_id}/week", "booking", "relay_week",
          "A relay manager's week: occupancy per day", "Relay management",
          response=RelayWeekSchema, query=WeekQuerySchema),
    Route("GET", "/v1/availability", "booking", "search_availability",
          "Relays with a free desk (slot) or room (hours) on a date near a point, nearest first",
          "Bookings", response=AvailableRelaySchema, many=True, query=AvailabilityQuerySchema,
          authenticated=False, passes_caller=False, errors=(400, 422)),

    Route("POST", "/v1/relays/{relay_id}/rate-cards", "billing", "set_rate_card",
          "Set the prices of a kind of space at a relay from a date (desks: half-day and day; "
          "rooms: hour)", "Billing",
          response=RateCardSchema, status=201, body=RateCardSchema, idempotent_create=True,
          errors=(400, 401, 403, 404, 409, 422)),
    Route("GET", "/v1/relays/{relay_id}/rate-cards", "billing", "list_rate_cards",
          "A relay's rate cards", "Billing", response=RateCardSchema, many=True,
          passes_caller=False, errors=(401, 404)),
    Route("GET", "/v1/usage-lines", "billing", "list_usage_lines",
          "Usage lines visible to the caller", "Billing", response=UsageLineSchema,
          many=True, query=UsageLineQuerySchema),
    Route("PUT", "/v1/relays/{relay_id}/operator", "billing", "set_relay_operator",
          "Say which relay operator runs a relay (it is settled for the relay's usage)",
          "Billing", response=RelayOperatorSchema, body=RelayOperatorSchema,
          roles=("network_admin",)),
    Route("POST", "/v1/organisations/{organisation_id}/contracts", "billing", "set_contract",
          "Add a company's contract: a discount or its own prices, for a period", "Billing",
          response=ContractSchema, status=201, body=ContractSchema, idempotent_create=True,
          errors=(400, 401, 403, 404, 409, 422)),
    Route("GET", "/v1/organisations/{organisation_id}/contracts", "billing", "list_contracts",
          "A company's contracts", "Billing", response=ContractSchema, many=True),
    Route("POST", "/v1/organisations/{organisation_id}/commissions", "billing",
          "set_commission", "Add a relay operator's commission rate, for a period", "Billing",
          response=CommissionSchema, status=201, body=CommissionSchema, idempotent_create=True,
          errors=(400, 401, 403, 404, 409, 422)),
    Route("GET", "/v1/organisations/{organisation_id}/commissions", "billing",
          "list_commissions", "A relay operator's commission rates", "Billing",
          response=CommissionSchema, many=True),
    Route("POST", "/v1/billing-runs", "billing", "run_month",
          "Invoice a month: one draft invoice per company (run twice: nothing new)", "Invoices",
          response=MonthRunResultSchema, body=MonthRunSchema,
          errors=(400, 401, 403, 409, 422)),
    Route("POST", "/v1/settlement-runs", "billing", "run_settlements",
          "Settle a month: one self-billed invoice per relay operator", "Settlements",
          response=MonthRunResultSchema, body=MonthRunSchema,
          errors=(400, 401, 403, 409, 422)),
    Route("GET", "/v1/documents", "billing", "list_documents",
          "Invoices, credit notes and settlements visible to the caller", "Invoices",
          response=DocumentSchema, many=True, query=DocumentQuerySchema),
    Route("GET", "/v1/documents/{document_id}", "billing", "get_document",
          "An invoice, credit note or settlement with its lines, payments and review",
          "Invoices", response=DocumentDetailSchema),
    Route("GET", "/v1/documents/{document_id}/lines.csv", "billing", "document_lines_csv",
          "A document's lines as CSV, for expense systems", "Invoices", media_type="text/csv"),
    Route("GET", "/v1/documents/{document_id}/factur-x.pdf", "billing", "document_pdf",
          "A final document as Factur-X: the PDF/A-3 a person reads, the CII XML inside",
          "Invoices", media_type="application/pdf", binary=True, errors=(401, 404, 409)),
    Route("GET", "/v1/documents/{document_id}/factur-x.xml", "billing", "document_xml",
          "A final document's Factur-X CII XML (EN 16931 profile)", "Invoices",
          media_type="application/xml", errors=(401, 404, 409)),
    Route("POST", "/v1/documents/{document_id}/finalize", "billing", "finalize_invoice",
          "Finalize a draft invoice now: its number, its place in the hash chain", "Invoices",
          response=DocumentDetailSchema, errors=(401, 403, 404, 409)),
    Route("POST", "/v1/documents/{document_id}/credit-notes", "billing", "issue_credit_note",
          "Credit a final invoice or settlement, whole or in part", "Invoices",
          response=DocumentSchema, status=201, body=CreditNoteSchema, idempotent_create=True,
          errors=(400, 401, 403, 404, 409, 422)),
    Route("POST", "/v1/documents/{document_id}/payments", "billing", "record_payment",
          "Record a payment (full or partial) of a final invoice", "Invoices",
          response=PaymentSchema, status=201, body=PaymentSchema, idempotent_create=True,
          errors=(400, 401, 403, 404, 409, 422)),
    Route("POST", "/v1/documents/{document_id}/review", "billing", "review_settlement",
          "Accept or contest a settlement (its relay managers, within the review period)",
          "Settlements", response=SettlementReviewSchema, body=SettlementReviewSchema,
          errors=(400, 401, 403, 404, 409, 422)),
    Route("POST", "/v1/documents/{document_id}/resolve", "billing", "resolve_settlement",
          "Resolve a contested settlement: a credit note, or upheld", "Settlements",
          response=SettlementReviewSchema, body=ResolutionSchema,
          errors=(400, 401, 403, 404, 409, 422)),
    Route("GET", "/v1/fec", "billing", "fec_export",
          "The FEC of a fiscal year: sales and purchase journals, 18 columns, tab-separated",
          "Accounting", query=FecQuerySchema, media_type="text/tab-separated-values"),

    Route("POST", "/v1/bookings", "booking", "book",
          "Book a space, or any free desk or room at a relay, for a slot or hours", "Bookings",
          response=BookingSchema, status=201, body=BookingCreateSchema,
          idempotent_create=True, errors=(400, 401, 403, 404, 409, 422)),
    Route("GET", "/v1/bookings", "booking", "list_bookings",
          "Bookings visible to the caller (own; organisation's; relays managed)", "Bookings",
          response=BookingSchema, many=True, query=BookingListQuerySchema),
    Route("GET", "/v1/bookings/{booking_id}", "booking", "get_booking", "A booking",
          "Bookings", response=BookingSchema),
    Route("POST", "/v1/bookings/{booking_id}/cancel", "booking", "cancel_booking",
          "Cancel a booking (late if less than 24 h before its start)", "Bookings",
          response=BookingSchema, body=CancelSchema, body_required=False,
          errors=(400, 401, 403, 404, 409, 422)),
    Route("POST", "/v1/bookings/{booking_id}/check-in", "booking", "check_in",
          "Check in (members with the relay's code; relay managers)", "Bookings",
          response=BookingSchema, body=CheckInSchema, body_required=False,
          errors=(400, 401, 403, 404, 409, 422, 429)),
    Route("POST", "/v1/booking-series", "booking", "book_series",
          "Book the same slot every N weeks; each occurrence booked or reported", "Bookings",
          response=SeriesSchema, status=201, body=SeriesCreateSchema, idempotent_create=True,
          errors=(400, 401, 403, 404, 409, 422)),
    Route("GET", "/v1/booking-series/{series_id}", "booking", "get_series",
          "A booking series and its occurrences", "Bookings", response=SeriesSchema),
    Route("POST", "/v1/booking-series/{series_id}/cancel", "booking", "cancel_series",
          "Cancel the rest of a series (or from a date)", "Bookings",
          response=SeriesCancelledSchema, body=SeriesCancelSchema, body_required=False,
          errors=(400, 401, 403, 404, 409, 422)),
    Route("GET", "/v1/organisation-usage", "booking", "organisation_usage",
          "A corporate admin's month: each employee's bookings and days", "Bookings",
          response=OrganisationUsageSchema, query=OrganisationUsageQuerySchema),
    Route("GET", "/v1/programme-usage", "booking", "programme_usage",
          "A programme's month: per relay, and per person if its rules allow it",
          "Programmes", response=ProgrammeUsageSchema, query=ProgrammeUsageQuerySchema,
          roles=("network_admin", "network_ops", "programme_admin")),
    Route("GET", "/v1/network-health", "booking", "network_health",
          "Per relay: bookings and occupancy over 7 and 30 days, no-show and late-cancellation "
          "rates, members, last booking, open closures, relays inactive 14 days (network "
          "staff: every relay; relay managers: theirs; corporate admins: their employees' use)",
          "Network", response=NetworkHealthSchema),
    Route("GET", "/v1/unmet-demand", "booking", "unmet_demand",
          "Searches that found no free space and bookings refused for lack of one, by "
          "department, month and kind of space (network staff)", "Network",
          response=UnmetDemandSchema, query=UnmetDemandQuerySchema),
    Route("GET", "/v1/dead-letters", EVERY_SERVICE, "dead_letters",
          "Each service's dead-letter queues: how many events wait there and the first ones "
          "(type, id, error), read-only (network staff; replay: python -m common.deadletters). "
          "A service that does not answer is a row with unavailable: true", "Network",
          response=DeadLetterQueueSchema, many=True, errors=(401, 403)),
    Route("GET", "/v1/impact", "booking", "impact_report",
          "A month's kilometres and CO2e avoided by completed bookings, per relay, "
          "department, organisation or (corporate admins) member; small cells blanked",
          "Impact", response=ImpactReportSchema, query=ImpactQuerySchema),
    Route("GET", "/v1/impact.csv", "booking", "impact_report_csv",
          "The same report as CSV", "Impact", query=ImpactQuerySchema, media_type="text/csv"),
    Route("GET", "/v1/impact/bookings.csv", "booking", "impact_audit_csv",
          "One line per completed booking of the month: the trip avoided, the factor and its "
          "version, to recompute every figure (network staff, corporate admins)", "Impact",
          query=ImpactAuditQuerySchema, media_type="text/csv"),
    Route("GET", "/v1/impact/who-benefits", "booking", "who_benefits",
          "Who benefits: per relay in a month, distinct people by audience (corporate "
          "employees, freelancers, residents, students, patients), share on a first visit, "
          "median distance from home; cells under 5 people blanked (network staff, relay "
          "managers their relays, corporate admins their employees)", "Impact",
          response=WhoBenefitsSchema, query=ImpactAuditQuerySchema),
    Route("GET", "/v1/impact/who-benefits.csv", "booking", "who_benefits_csv",
          "The same report as CSV", "Impact", query=ImpactAuditQuerySchema,
          media_type="text/csv"),
    Route("GET", "/v1/open-data/relay-use.csv", "booking", "open_data_relay_use",
          "Open data (Licence Ouverte 2.0): per relay and audience in a month, people served, "
          "share on a first visit, median distance from home; cells under 5 people blanked",
          "Impact",
          query=ImpactAuditQuerySchema, media_type="text/csv", authenticated=False,
          passes_caller=False, errors=(400, 422)),
    Route("POST", "/v1/calendar-feed", "booking", "create_calendar_feed",
          "A new private iCalendar URL for my bookings (replaces the previous one)",
          "Calendar", response=CalendarFeedSchema, status=201),
    Route("DELETE", "/v1/calendar-feed", "booking", "revoke_calendar_feed",
          "Revoke my iCalendar URL", "Calendar"),
    Route("GET", "/v1/calendar/{token}.ics", "booking", "calendar_feed",
          "My bookings as an iCalendar feed (RFC 5545) for Outlook or Google Calendar",
          "Calendar", authenticated=False, passes_caller=False, errors=(404,),
          media_type="text/calendar"),

    Route("GET", "/v1/users/{user_id}/notification-preferences", "notify",
          "get_notification_preferences",
          "Which categories of mails I receive (only the user themself)", "Notifications",
          response=NotificationPreferenceSchema, many=True, credentials=("access_token",)),
    Route("PATCH", "/v1/users/{user_id}/notification-preferences", "notify",
          "set_notification_preferences",
          "Turn categories of mails on or off (security, invoicing and changes to my "
          "bookings stay on)", "Notifications", response=NotificationPreferenceSchema,
          many=True, body=NotificationPreferencesUpdateSchema, credentials=("access_token",)),
    Route("GET", "/v1/unsubscribe/{token}", "notify", "unsubscribe_page",
          "The page of a mail's unsubscribe link: asks to confirm (no log-in)",
          "Notifications", authenticated=False, passes_caller=False, errors=(404,),
          media_type="text/html"),
    Route("POST", "/v1/unsubscribe/{token}", "notify", "unsubscribe",
          "One-click unsubscribe (RFC 8058; a mail client POSTs List-Unsubscribe=One-Click): "
          "turns that category off for that person, no log-in", "Notifications",
          authenticated=False, passes_caller=False, errors=(404,), media_type="text/html"),

    Route("GET", "/v1/deliveries", "notify", "list_deliveries",
          "Messages sent (network admins and ops)", "Notifications",
          response=DeliverySchema, many=True, query=DeliveryQuerySchema),

    Route("POST", "/v1/webhook-endpoints", "notify", "create_webhook_endpoint",
          "Register a webhook endpoint for the caller's organisation (its secret is shown once)",
          "Webhooks", response=WebhookEndpointSchema, status=201,
          body=WebhookEndpointCreateSchema),
    Route("GET", "/v1/webhook-endpoints", "notify", "list_webhook_endpoints",
          "The webhook endpoints of the caller's organisation", "Webhooks",
          response=WebhookEndpointSchema, many=True, query=PageQuerySchema),
    Route("GET", "/v1/webhook-endpoints/{endpoint_id}", "notify", "get_webhook_endpoint",
          "A webhook endpoint", "Webhooks", response=WebhookEndpointSchema),
    Route("PATCH", "/v1/webhook-endpoints/{endpoint_id}", "notify", "update_webhook_endpoint",
          "Change a webhook endpoint's URL, event types, description, or enable it again",
          "Webhooks", response=WebhookEndpointSchema, body=WebhookEndpointUpdateSchema,
          roles=WEBHOOK_ROLES),
    Route("DELETE", "/v1/webhook-endpoints/{endpoint_id}", "notify", "delete_webhook_endpoint",
          "Delete a webhook endpoint and its delivery log", "Webhooks", status=204),
    Route("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret", "notify",
          "rotate_webhook_secret",
          "A new signing secret (shown once); the old one keeps signing for grace_seconds",
          "Webhooks", response=WebhookEndpointSchema, body=WebhookRotateSchema,
          body_required=False),
    Route("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries", "notify",
          "list_webhook_deliveries", "An endpoint's deliveries and their attempts, newest first",
          "Webhooks", response=WebhookDeliverySchema, many=True,
          query=WebhookDeliveryQuerySchema),
    Route("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
          "notify", "replay_webhook_delivery",
          "Send a delivery again (same webhook-id)", "Webhooks",
          response=WebhookDeliverySchema, body_required=False),
    Route("POST", "/v1/webhook-endpoints/{endpoint_id}/replay", "notify",
          "replay_webhook_deliveries",
          "Send again every delivery whose event happened in [since, until)", "Webhooks",
          response=WebhookReplayedSchema, body=WebhookReplaySchema),
    Route("POST", "/v1/webhook-endpoints/{endpoint_id}/test", "notify", "send_webhook_test",
          "Send a webhook.test event to this endpoint", "Webhooks",
          response=WebhookDeliverySchema, status=202, body_required=False, errors=(401, 403, 404)),
]

SERVICES = ("identity", "booking", "billing", "notify")
