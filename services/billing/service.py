"""Billing's entrypoints: prices, invoices, credit notes, payments and
settlements over RPC; usage lines from booking's events; legal identities
from identity's; timers that finalize drafts and announce overdue invoices."""
import base64
from datetime import datetime, timezone

import eventlet
from nameko.exceptions import RemoteError, UnknownService
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from common import config, errors
from common.caller import load_caller
from common.db import Database
from common.entrypoints import consumes, consumes_in_batches, idempotent
from common.rpc import RpcProxy, rpc
from common.service import RelaisService
from common.validation import load
from contracts.rpc.billing import (
    CommissionSchema, ContractSchema, CreditNoteSchema, DocumentDetailSchema, DocumentFileSchema,
    DocumentQuerySchema, DocumentSchema, FecQuerySchema, MonthRunResultSchema, MonthRunSchema,
    PaymentSchema, QuoteRequestSchema, QuoteSchema, RateCardSchema, RelayOperatorSchema,
    ResolutionSchema, SettlementReviewSchema, UsageLineQuerySchema, UsageLineSchema,
)
from services.billing import (
    blocks, calendar, files, invoicing, prices, settlements, usage, views,
)
from services.billing.documents.process import RenderingProcess
from services.billing.models import Base
from services.billing.settings import load_settings

TIMER_SECONDS = float(config.env("BILLING_TIMER_SECONDS", "60"))
OWNER_TIMEOUT_SECONDS = float(config.env("BILLING_OWNER_TIMEOUT_SECONDS", "3"))

rate_card_schema = RateCardSchema()
usage_line_schema = UsageLineSchema()
document_schema = DocumentSchema()
detail_schema = DocumentDetailSchema()


class Clock(DependencyProvider):
    """``self.clock()`` is now, in UTC; a container config ``FIXED_NOW`` (an
    ISO 8601 instant) pins it, so tests never depend on today's date."""

    def get_dependency(self, worker_ctx):
        fixed = self.container.config.get("FIXED_NOW")
        if fixed:
            return lambda: datetime.fromisoformat(fixed)
        return lambda: datetime.now(timezone.utc)


class Settings(DependencyProvider):
    def setup(self):
        self.settings = load_settings(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings


class Renderer(DependencyProvider):
    """``self.render(document)``: its Factur-X files, made by a child process
    of this container (documents/process.py), started on first use."""

    def setup(self):
        self.process = RenderingProcess()

    def stop(self):
        self.process.close()

    def kill(self):
        self.process.close()

    def get_dependency(self, worker_ctx):
        return self.process.render


class BillingService(RelaisService):
    name = "billing"

    db = Database(Base)
    clock = Clock()
    settings = Settings()
    booking = RpcProxy("booking")  # the owner of relays, asked about one not yet announced
    render = Renderer()

    # -- prices ---------------------------------------------------------------------

    @rpc
    @idempotent(RateCardSchema)
    def set_rate_card(self, uow, caller, data, relay_id):
        rate_card = prices.set_rate_card(uow, caller, relay_id, data, self.relay_from_booking)
        usage.reprice(uow, self.settings, rate_card.valid_from, self.clock(), relay_id=relay_id,
                      space_kind=rate_card.space_kind)
        return rate_card_schema.dump(rate_card)

    @rpc
    def list_rate_cards(self, relay_id):
        return rate_card_schema.dump(prices.list_rate_cards(self.db.session, relay_id), many=True)

    @rpc
    @idempotent(ContractSchema)
    def set_contract(self, uow, caller, data, organisation_id):
        contract = prices.set_contract(uow, caller, organisation_id, data)
        usage.reprice(uow, self.settings, contract.valid_from, self.clock(),
                      organisation_id=organisation_id)
        return ContractSchema().dump(contract)

    @rpc
    def list_contracts(self, caller, organisation_id):
        caller = load_caller(caller)
        return ContractSchema().dump(
            prices.list_contracts(self.db.session, caller, organisation_id), many=True)

    @rpc
    @idempotent(CommissionSchema)
    def set_commission(self, uow, caller, data, organisation_id):
        return CommissionSchema().dump(prices.set_commission(uow, caller, organisation_id, data))

    @rpc
    def list_commissions(self, caller, organisation_id):
        caller = load_caller(caller)
        return CommissionSchema().dump(
            prices.list_commissions(self.db.session, caller, organisation_id), many=True)

    @rpc
    def set_relay_operator(self, caller, relay_id, payload):
        caller = load_caller(caller)
        data = load(RelayOperatorSchema(), payload)
        with self.db.unit_of_work() as uow:
            return RelayOperatorSchema().dump(prices.set_relay_operator(
                uow, caller, relay_id, data, self.relay_from_booking))

    def relay_from_booking(self, relay_id):
        """booking's answer for a relay billing has not heard of yet (None: it
        does not exist); booking not answering in time is a 503, never a 404."""
        try:
            with eventlet.Timeout(OWNER_TIMEOUT_SECONDS):
                return self.booking.get_relay(relay_id=relay_id)
        except RemoteError as error:
            if error.exc_type == "NotFound":
                return None
            raise
        except (eventlet.Timeout, UnknownService):
            raise errors.Unavailable("The relay directory did not answer in time: try again "
                                     "shortly.", code="relay-directory-unavailable") from None

    @rpc(callers=("booking",))
    def quote(self, payload):
        """The price of a booking not made yet, excl. VAT (booking holds a
        monthly budget with it). Read-only: no caller, nothing written."""
        request = load(QuoteRequestSchema(), payload)
        return QuoteSchema().dump(usage.quote(self.db.session, request))

    @rpc
    def list_usage_lines(self, caller, query=None):
        caller = load_caller(caller)
        query = load(UsageLineQuerySchema(), query or {})
        return usage_line_schema.dump(
            usage.list_usage_lines(self.db.session, caller, query), many=True)

    # -- invoices -------------------------------------------------------------------

    @rpc
    def run_month(self, caller, payload):
        caller = load_caller(caller)
        data = load(MonthRunSchema(), payload)
        organisation_id = str(data["organisation_id"]) if data.get("organisation_id") else None
        with self.db.unit_of_work() as uow:
            return MonthRunResultSchema().dump(invoicing.run_month(
                uow, caller, calendar.parse_month(data["month"]), self.clock(), self.settings,
                organisation_id))

    @rpc
    def list_documents(self, caller, query=None):
        caller = load_caller(caller)
        query = load(DocumentQuerySchema(), query or {})
        return document_schema.dump(views.list_documents(self.db.session, caller, query),
                                    many=True)

    @rpc
    def get_document(self, caller, document_id):
        caller = load_caller(caller)
        return detail_schema.dump(views.get_document(self.db.session, caller, document_id))

    @rpc
    def document_lines_csv(self, caller, document_id):
        caller = load_caller(caller)
        return views.lines_csv(self.db.session, caller, document_id)

    @rpc
    def document_pdf(self, caller, document_id):
        """The Factur-X PDF/A-3, base64 (JSON-native over AMQP)."""
        return base64.b64encode(self.stored_files(caller, document_id).pdf).decode("ascii")

    @rpc
    def document_xml(self, caller, document_id):
        return self.stored_files(caller, document_id).xml.decode("utf-8")

    def stored_files(self, caller, document_id):
        """Rendered once after finalization (``on_invoice_finalized``...)."""
        row = views.final_document(self.db.session, load_caller(caller), document_id)
        return files.stored_files(self.db.session, row)

    @rpc(callers=("notify",))
    def document_file(self, document_id):
        """The stored PDF of a rendered final document, for notify's mail
        (a service's call: no caller; the gateway has no route to it)."""
        return DocumentFileSchema().dump(files.file_for_mail(self.db.session, document_id))

    @rpc
    def finalize_invoice(self, caller, document_id, payload=None):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            invoicing.finalize_invoice(uow, caller, document_id, self.clock(), self.settings)
        return detail_schema.dump(views.get_document(self.db.session, caller, document_id))

    @rpc
    @idempotent(CreditNoteSchema)
    def issue_credit_note(self, uow, caller, data, document_id):
        return document_schema.dump(invoicing.issue_credit_note(
            uow, caller, document_id, data, self.clock(), self.settings))

    @rpc
    @idempotent(PaymentSchema)
    def record_payment(self, uow, caller, data, document_id):
        return PaymentSchema().dump(invoicing.record_payment(uow, caller, document_id, data))

    @rpc
    def fec_export(self, caller, query):
        caller = load_caller(caller)
        query = load(FecQuerySchema(), query or {})
        return views.fec_export(self.db.session, caller, query["year"], self.settings)

    # -- settlements ----------------------------------------------------------------

    @rpc
    def run_settlements(self, caller, payload):
        caller = load_caller(caller)
        data = load(MonthRunSchema(), payload)
        with self.db.unit_of_work() as uow:
            return MonthRunResultSchema().dump(settlements.run_settlements(
                uow, caller, calendar.parse_month(data["month"]), self.clock(), self.settings))

    @rpc
    def review_settlement(self, caller, document_id, payload):
        caller = load_caller(caller)
        data = load(SettlementReviewSchema(), payload)
        with self.db.unit_of_work() as uow:
            return SettlementReviewSchema().dump(settlements.review_settlement(
                uow, caller, document_id, data, self.clock(), self.settings))

    @rpc
    def resolve_settlement(self, caller, document_id, payload):
        caller = load_caller(caller)
        data = load(ResolutionSchema(), payload)
        with self.db.unit_of_work() as uow:
            return SettlementReviewSchema().dump(settlements.resolve_settlement(
                uow, caller, document_id, data, self.clock(), self.settings))

    # -- time -----------------------------------------------------------------------

    @timer(interval=TIMER_SECONDS)
    def run_timers(self):
        """Finalize drafts past their grace period; announce overdue invoices."""
        self.tick(self.clock())

    def tick(self, now):
        """A batch a transaction, until a batch comes back short (a month end's
        2,000 drafts are final within the tick, not 50 a minute)."""
        for step, batch in ((invoicing.finalize_due_drafts, invoicing.DRAFTS_BATCH),
                            (invoicing.announce_overdue, invoicing.OVERDUE_BATCH)):
            while True:
                with self.db.unit_of_work() as uow:
                    if step(uow, now, self.settings, batch) < batch:
                        break

    # -- events ---------------------------------------------------------------------

    @consumes("identity.organisation_created")
    def on_organisation_created(self, uow, data, event):
        usage.remember_organisation(uow, data)

    @consumes("identity.user_provisioned")
    def on_user_provisioned(self, uow, data, event):
        usage.remember_member(uow, data)

    @consumes("identity.user_updated")
    def on_user_updated(self, uow, data, event):
        usage.remember_member(uow, data)

    @consumes("booking.relay_created")
    def on_relay_created(self, uow, data, event):
        prices.remember_relay(uow, data)

    @consumes("booking.relay_updated")
    def on_relay_updated(self, uow, data, event):
        prices.remember_relay(uow, data)

    # Under load the outbox relay publishes bookings in bursts: their usage
    # lines are written a batch at a time (one worker, one transaction of three
    # statements for the whole batch: common.consumer.BatchEventHandler).
    @consumes_in_batches("booking.confirmed")
    def on_booking_confirmed(self, uow, confirmations):
        usage.record_usages(uow, [booking for booking, event in confirmations])

    @consumes("booking.block_created")
    def on_block_created(self, uow, block, event):
        blocks.record_block(uow, block, self.clock(), self.settings)

    @consumes("booking.block_cancelled")
    def on_block_cancelled(self, uow, cancellation, event):
        blocks.cancel_block(uow, cancellation, self.clock(), self.settings)

    @consumes("booking.cancelled")
    def on_booking_cancelled(self, uow, cancellation, event):
        usage.record_cancellation(uow, cancellation, self.clock(), self.settings)

    # Billing's own events: each issued document's files, rendered once (files.py),
    # one event at a time per kind, so a month end's rendering leaves the RPCs workers.

    @consumes("billing.invoice_finalized", one_at_a_time=True)
    def on_invoice_finalized(self, uow, data, event):
        files.render_issued_document(uow, self.render, data["document_id"])

    @consumes("billing.credit_note_issued", one_at_a_time=True)
    def on_credit_note_issued(self, uow, data, event):
        files.render_issued_document(uow, self.render, data["document_id"])

    @consumes("billing.settlement_issued", one_at_a_time=True)
    def on_settlement_issued(self, uow, data, event):
        files.render_issued_document(uow, self.render, data["document_id"])
