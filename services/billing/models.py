"""Billing's tables: prices (rate cards, corporate contracts, commissions),
usage lines, documents (invoices, credit notes, self-billed settlements) with
their lines, numbering sequences, hash chain and payments, and its projections
of relays and organisations."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer,
    LargeBinary, Numeric, Text, UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from common.db import new_id, service_base

Base = service_base()



class KnownRelay(Base):
    """Relays as booking announced them (``booking.relay_created``)."""
    __tablename__ = "known_relays"

    relay_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text)
    # The relay operator organisation that runs it (set by a network admin in
    # billing: booking's relay events do not carry it). Settlements need it.
    operator_organisation_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)


class KnownOrganisation(Base):
    """Organisations as identity announced them (``identity.organisation_created``):
    the legal identity a document prints for a buyer or a relay operator."""
    __tablename__ = "known_organisations"

    organisation_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    legal_name: Mapped[str | None] = mapped_column(Text)
    siret: Mapped[str | None] = mapped_column(Text)
    vat_number: Mapped[str | None] = mapped_column(Text)
    billing_email: Mapped[str | None] = mapped_column(Text)
    billing_address: Mapped[str | None] = mapped_column(Text)


class KnownMember(Base):
    """Members' names as identity announced them: an invoice line names the member."""
    __tablename__ = "known_members"

    user_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    organisation_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    full_name: Mapped[str] = mapped_column(Text)


def _prices_not_negative():
    return CheckConstraint(
        "coalesce(half_day_price_cents, 0) >= 0 AND coalesce(day_price_cents, 0) >= 0 "
        "AND coalesce(hour_price_cents, 0) >= 0", name="prices_not_negative")


def _no_overlap(name, *columns):
    """Two validity periods of the same owner never overlap (``valid_until``
    is the last day included; none: open-ended)."""
    return ExcludeConstraint(
        *[(column, "=") for column in columns],
        (text("daterange(valid_from, valid_until, '[]')"), "&&"),
        name=name, using="gist")


class RateCard(Base):
    """The prices of one kind of space at one relay, from a date on (until the
    next card of that kind): desks by the half-day and the day, rooms by the hour."""
    __tablename__ = "rate_cards"
    __table_args__ = (
        UniqueConstraint("relay_id", "space_kind", "valid_from"),
        _prices_not_negative(),
        CheckConstraint("vat_rate_bp BETWEEN 0 AND 10000", name="vat_rate_range"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    relay_id: Mapped[str] = mapped_column(ForeignKey("known_relays.relay_id"), index=True)
    space_kind: Mapped[str] = mapped_column(Text)
    half_day_price_cents: Mapped[int | None] = mapped_column(Integer)
    day_price_cents: Mapped[int | None] = mapped_column(Integer)
    hour_price_cents: Mapped[int | None] = mapped_column(Integer)
    vat_rate_bp: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Contract(Base):
    """A company's negotiated terms with the network: a discount on rate cards,
    or its own prices (desks by the half-day and day, rooms by the hour)."""
    __tablename__ = "contracts"
    __table_args__ = (
        _no_overlap("contracts_no_overlap", "organisation_id"),
        _prices_not_negative(),
        CheckConstraint("discount_bp IS NULL OR discount_bp BETWEEN 0 AND 10000",
                        name="discount_range"),
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="period"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    organisation_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    reference: Mapped[str | None] = mapped_column(Text)
    discount_bp: Mapped[int | None] = mapped_column(Integer)
    half_day_price_cents: Mapped[int | None] = mapped_column(Integer)
    day_price_cents: Mapped[int | None] = mapped_column(Integer)
    hour_price_cents: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Commission(Base):
    """The network's commission on what a relay operator's relays sold."""
    __tablename__ = "commissions"
    __table_args__ = (
        _no_overlap("commissions_no_overlap", "operator_organisation_id"),
        CheckConstraint("commission_bp BETWEEN 0 AND 10000", name="commission_range"),
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="period"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    operator_organisation_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    commission_bp: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UsageLine(Base):
    """What one booking costs, priced from the rate card in force on its date.
    ``unpriced`` when the relay had no rate card for that kind of space yet;
    ``void`` when the booking was cancelled in time (a late cancellation stays
    billable, flagged ``late_cancellation``)."""
    __tablename__ = "usage_lines"
    __table_args__ = (
        # included: a booking in a block billed whole (the block's monthly line pays).
        CheckConstraint("status IN ('priced', 'unpriced', 'void', 'included')", name="status"),
        # A block billed whole has one line a month (no booking), dated its
        # first day held that month.
        Index("uq_usage_lines_block_month", "block_id", "date", unique=True,
              postgresql_where=text("booking_id IS NULL")),
        CheckConstraint(
            "status = 'unpriced' OR amount_incl_vat_cents = amount_excl_vat_cents + vat_cents",
            name="totals_add_up"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    # One line per booking, whatever happens to the event that announced it;
    # a block's monthly line has none (nor a member), but its block_id.
    booking_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), unique=True)
    block_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    relay_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    organisation_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    member_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), index=True)
    space_kind: Mapped[str] = mapped_column(Text)
    date: Mapped[date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(Text)
    half_days: Mapped[int] = mapped_column(Integer)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text)
    rate_card_id: Mapped[str | None] = mapped_column(ForeignKey("rate_cards.id"))
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    unit: Mapped[str | None] = mapped_column(Text)           # half_day, day, hour
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    unit_price_cents: Mapped[int | None] = mapped_column(Integer)
    vat_rate_bp: Mapped[int | None] = mapped_column(Integer)
    amount_excl_vat_cents: Mapped[int | None] = mapped_column(Integer)
    vat_cents: Mapped[int | None] = mapped_column(Integer)
    amount_incl_vat_cents: Mapped[int | None] = mapped_column(Integer)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    late_cancellation: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BlockAgreement(Base):
    """A block of reserved capacity as billing follows it (``booking.block_created``):
    billed whole (a fixed price a month of its period, its bookings included)
    or per use (its bookings, like any other). ``cancelled_at``: the months
    wholly after the month it was cancelled in are not billed."""
    __tablename__ = "block_agreements"

    block_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    relay_id: Mapped[str] = mapped_column(UUID(as_uuid=False))
    organisation_id: Mapped[str] = mapped_column(UUID(as_uuid=False))
    space_kind: Mapped[str] = mapped_column(Text)
    billing: Mapped[str] = mapped_column(Text)
    monthly_price_cents: Mapped[int | None] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# -- documents -------------------------------------------------------------------

DRAFT, FINAL = "draft", "final"


class BillingDocument(Base):
    """An invoice to a company, a credit note, or a self-billed settlement in a
    relay operator's name. A draft changes; a final one never does (a trigger
    refuses it, see migration billing_0003): it has its number, and its SHA-256
    chained to the previous final document's."""
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("kind IN ('invoice', 'credit_note', 'self_billed_invoice')", name="kind"),
        CheckConstraint("status IN ('draft', 'final')", name="status"),
        CheckConstraint("status = 'draft' OR (number IS NOT NULL AND sha256 IS NOT NULL)",
                        name="final_is_numbered"),
        CheckConstraint("total_gross_cents = total_net_cents + total_vat_cents",
                        name="totals_add_up"),
        # One monthly invoice per company, one settlement per operator and
        # month: a second run, or a second replica, finds it and adds nothing.
        Index("uq_documents_monthly", "kind", "organisation_id", "month", unique=True,
              postgresql_where=text("month IS NOT NULL AND preceding_document_id IS NULL")),
        Index("ix_documents_status_kind", "status", "kind"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=text("'draft'"))
    # The buyer of an invoice or credit note; the relay operator of a settlement.
    organisation_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    month: Mapped[date | None] = mapped_column(Date)            # first day of the month billed
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    preceding_document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"),
                                                               index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    number: Mapped[str | None] = mapped_column(Text, unique=True)
    issue_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    seller: Mapped[dict | None] = mapped_column(JSONB)
    buyer: Mapped[dict | None] = mapped_column(JSONB)
    notes: Mapped[list | None] = mapped_column(JSONB)
    total_net_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    total_vat_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    total_gross_cents: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    commission_bp: Mapped[int | None] = mapped_column(Integer)
    chain_position: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    previous_sha256: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finalized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DocumentFile(Base):
    """A final document's Factur-X files, rendered once after its finalization
    (``files.py``) and served from here: the download route and the mail's
    attachment are these bytes. ``sha256`` is the document's chained hash
    when it was rendered, so a file always says which document it shows."""
    __tablename__ = "document_files"

    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(Text)
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    rendered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())


class DocumentLine(Base):
    __tablename__ = "document_lines"
    __table_args__ = (UniqueConstraint("document_id", "position"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    member_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    relay_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    space_kind: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit_code: Mapped[str] = mapped_column(Text)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    vat_rate_bp: Mapped[int] = mapped_column(Integer)
    net_cents: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)


# The claims below carry no foreign keys on purpose: a month run inserts
# millions of them in one statement from rows it has just read, and a
# foreign-key check per row would double its time. Their primary keys are
# the invariants that matter.

class InvoicedUsage(Base):
    """A usage line lands on exactly one invoice: the primary key says so."""
    __tablename__ = "invoiced_usage"

    usage_line_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)


class CreditedUsage(Base):
    """A usage line is credited at most once."""
    __tablename__ = "credited_usage"

    usage_line_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    credit_note_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)


class PriceCorrection(Base):
    """A usage line re-priced after its invoice was finalized: the difference
    at one VAT rate. A decrease is credited at once (``document_id``: the
    credit note citing the invoice); an increase waits (``document_id`` null)
    for the company's next monthly invoice, which prints it citing the
    invoice. Until that invoice is final the increase may still change; one
    pending increase per line and rate (the partial unique index)."""
    __tablename__ = "price_corrections"
    __table_args__ = (
        CheckConstraint("amount_excl_vat_cents <> 0", name="amount_not_zero"),
        CheckConstraint("amount_excl_vat_cents > 0 OR document_id IS NOT NULL",
                        name="credit_has_its_note"),
        Index("uq_price_corrections_pending", "usage_line_id", "vat_rate_bp", unique=True,
              postgresql_where=text("document_id IS NULL")),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    usage_line_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)
    cited_invoice_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    organisation_id: Mapped[str] = mapped_column(UUID(as_uuid=False))
    vat_rate_bp: Mapped[int] = mapped_column(Integer)
    amount_excl_vat_cents: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SettledUsage(Base):
    """A usage line counts in exactly one settlement."""
    __tablename__ = "settled_usage"

    usage_line_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    settlement_id: Mapped[str] = mapped_column(UUID(as_uuid=False), index=True)


class DocumentSequence(Base):
    """The last number given in one sequence (an issuer and a year): read and
    bumped under its row lock, in the finalizing transaction, so numbers are
    gapless and never repeat."""
    __tablename__ = "document_sequences"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class ChainHead(Base):
    """The last final document's hash; its row lock orders finalizations."""
    __tablename__ = "chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    sha256: Mapped[str | None] = mapped_column(Text)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(UUID(as_uuid=False))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OverdueNotice(Base):
    """An overdue invoice is announced once: the primary key says so."""
    __tablename__ = "overdue_notices"

    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    notified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SettlementReview(Base):
    """A relay manager's answer to a settlement, and a network admin's resolution."""
    __tablename__ = "settlement_reviews"
    __table_args__ = (
        CheckConstraint("status IN ('accepted', 'contested', 'resolved')", name="status"),
    )

    settlement_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str] = mapped_column(UUID(as_uuid=False))
    reviewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolution_document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"))
    resolved_by: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
