"""Billing's pure rules for documents: totals per VAT rate, Paris months and
grace periods, the hash chain, the FEC."""
from datetime import date, datetime, timezone
from decimal import Decimal

from services.billing import amounts, calendar, chain, fec
from services.billing.documents.model import Document, DocumentLine, Party, VatBreakdown

SELLER = Party("Relais des Possibles", "1 place de la Mairie", "23400", "Bourganeuf")
BUYER = Party("Mutuelle SA", "10 rue de la Paix", "75002", "Paris", siren="552081317")


def document(net=2200, number="F2026-000001"):
    return Document(
        kind="invoice", number=number, issue_date=date(2026, 11, 4),
        due_date=date(2026, 12, 4), period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31), seller=SELLER, buyer=BUYER,
        lines=(DocumentLine("1", "Bureau", Decimal("1.00"), "DAY", net, 2000, net),),
        vat_breakdown=(VatBreakdown(2000, net, net // 5),), total_net_cents=net,
        total_vat_cents=net // 5, total_gross_cents=net + net // 5)


def test_vat_is_computed_per_rate_on_the_sum_of_the_lines():
    totals = amounts.totals_of([(2000, 3), (2000, 3), (550, 1999)])
    # 6 cents at 20 % = 1.2 -> 1 (not 0.6 + 0.6 -> 1 + 1); 19.99 at 5.5 % -> 1.10
    assert totals.vat_breakdown == ((550, 1999, 110), (2000, 6, 1))
    assert (totals.net_cents, totals.vat_cents, totals.gross_cents) == (2005, 111, 2116)


def test_what_remains_to_credit_per_rate():
    assert amounts.remaining_by_rate([(2000, 1000), (550, 50)], [(2000, 400)]) == {
        2000: 600, 550: 50}


def test_a_price_changed_after_finalization_is_credited_lower_and_pending_higher():
    rule = amounts.correction_of
    lower = rule({2000: 2200}, {2000: 2000}, {}, {2000: 2200})
    assert (lower.credit, lower.pending) == ({2000: 200}, {})
    higher = rule({2000: 2200}, {2000: 2800}, {}, {2000: 2200})
    assert (higher.credit, higher.pending) == ({}, {2000: 600})
    # lower again before the increase was invoiced: the increase shrinks first
    back = rule({2000: 2800}, {2000: 2000}, {2000: 600}, {2000: 2200})
    assert (back.credit, back.pending) == ({2000: 200}, {})
    # the same price again: the pending increase is kept, nothing is credited
    again = rule({2000: 2800}, {2000: 2800}, {2000: 600}, {2000: 2200})
    assert (again.credit, again.pending) == ({}, {2000: 600})
    # cancelled: what the invoice charged is credited, the increase dropped
    cancelled = rule({2000: 2800}, {}, {2000: 600}, {2000: 2200})
    assert (cancelled.credit, cancelled.pending) == ({2000: 2200}, {})
    # never more than the invoice has left to credit (a credit note by hand came first)
    capped = rule({2000: 2200}, {2000: 1000}, {}, {2000: 500})
    assert capped.credit == {2000: 500}
    # another VAT rate: the old one credited whole, the new one charged next month
    moved = rule({2000: 2200}, {1000: 2000}, {}, {2000: 2200})
    assert (moved.credit, moved.pending) == ({2000: 2200}, {1000: 2000})


def test_months_end_at_midnight_in_paris_and_the_grace_period_follows():
    october = date(2026, 10, 1)
    assert calendar.month_ends_at(october) == datetime(2026, 10, 31, 23, tzinfo=timezone.utc)
    assert not calendar.month_is_over(october, datetime(2026, 10, 31, 22, 59, tzinfo=timezone.utc))
    assert calendar.month_is_over(october, datetime(2026, 10, 31, 23, 0, tzinfo=timezone.utc))
    assert calendar.grace_is_over(october, datetime(2026, 11, 3, 23, tzinfo=timezone.utc), 3)
    assert calendar.parse_month("2026-12") == date(2026, 12, 1)
    assert calendar.parse_month("2026-13") is None
    assert calendar.last_day(date(2028, 2, 1)) == date(2028, 2, 29)
    assert calendar.next_month(date(2026, 12, 1)) == date(2027, 1, 1)


def test_the_chain_names_the_first_altered_document():
    first, second = document(), document(3300, "F2026-000002")
    h1 = chain.chained_sha256(first, None)
    h2 = chain.chained_sha256(second, h1)
    links = [chain.Link(first.number, first, None, h1), chain.Link(second.number, second, h1, h2)]
    assert chain.first_broken_link(links) is None
    tampered = [chain.Link(first.number, document(2100), None, h1), links[1]]
    assert chain.first_broken_link(tampered).number == "F2026-000001"
    assert chain.first_broken_link([links[1]]).number == "F2026-000002"  # one went missing


def test_canonical_json_is_stable_and_sorted():
    text = chain.canonical_json(document())
    assert text == chain.canonical_json(document())
    assert text.startswith('{"buyer":{"address_line":"10 rue de la Paix"')
    assert '"quantity":"1"' in text and ", " not in text


def test_the_fec_has_18_columns_and_every_entry_balances():
    entries = [
        fec.Entry("VE", False, "F2026-000001", date(2026, 11, 4), "org-a", "Mutuelle SA",
                  ((550, 1999, 110), (2000, 2200, 440)), 4749),
        fec.Entry("VE", True, "A2026-000001", date(2026, 11, 5), "org-a", "Mutuelle SA",
                  ((2000, 100, 20),), 120),
        fec.Entry("AC", False, "AF2026-X-000001", date(2026, 11, 4), "op", "SCIC",
                  ((2000, 1870, 374),), 2244),
    ]
    from services.billing.settings import ACCOUNT_DEFAULTS
    text = fec.fec_text(entries, ACCOUNT_DEFAULTS)
    lines = text.split("\r\n")[:-1]
    assert lines[0].split("\t") == list(fec.COLUMNS) and len(fec.COLUMNS) == 18
    assert all(len(line.split("\t")) == 18 for line in lines)
    assert fec.balance_per_entry(text) == {"AC000001": 0, "VE000001": 0, "VE000002": 0}
    customer = [line.split("\t") for line in lines if line.split("\t")[8] == "A2026-000001"
                and line.split("\t")[4] == "411000"]
    assert (customer[0][11], customer[0][12]) == ("0,00", "1,20")   # a credit note credits
