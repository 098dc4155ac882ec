"""The FEC (fichier des écritures comptables, article A47 A-1 du LPF) of the
documents billing issues. Pure: standard library only.

One entry per final document, in the sales journal (VE: invoices to companies
and their credit notes) or the purchase journal (AC: self-billed settlements,
which the network buys from relay operators, and their credit notes):

- invoice: debit customer (gross), credit sales (base) and VAT collected per rate;
- settlement: debit purchases (base) and deductible VAT per rate, credit supplier (gross);
- a credit note: its document's entry with debit and credit swapped.

Every entry balances; amounts are written with a decimal comma, dates YYYYMMDD.
"""
from dataclasses import dataclass

COLUMNS = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum",
           "CompteLib", "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib",
           "Debit", "Credit", "EcritureLet", "DateLet", "ValidDate", "Montantdevise", "Idevise")
JOURNALS = {"VE": "Ventes", "AC": "Achats"}
ACCOUNT_NAMES = {"customers": "Clients", "suppliers": "Fournisseurs",
                 "sales": "Prestations de services",
                 "purchases": "Achats de prestations", "vat_collected": "TVA collectée",
                 "vat_deductible": "TVA déductible"}


@dataclass(frozen=True)
class Entry:
    """What the FEC needs of one final document."""
    journal: str              # VE or AC
    credit_note: bool
    number: str
    issue_date: object        # date
    counterpart_id: str       # the company or the relay operator (auxiliary account)
    counterpart_name: str
    vat_breakdown: tuple      # ((rate_bp, base_cents, vat_cents), ...)
    gross_cents: int


def money(cents):
    return f"{cents // 100},{cents % 100:02d}"


def rows_of(entry, number, accounts):
    sales = entry.journal == "VE"
    party = accounts["customers" if sales else "suppliers"]
    party_name = ACCOUNT_NAMES["customers" if sales else "suppliers"]
    # (account, label, aux id, aux name, signed amount: > 0 debit, < 0 credit)
    moves = [(party, party_name, entry.counterpart_id, entry.counterpart_name,
              entry.gross_cents if sales else -entry.gross_cents)]
    for rate, base, vat in entry.vat_breakdown:
        main, tax = ("sales", "vat_collected") if sales else ("purchases", "vat_deductible")
        sign = -1 if sales else 1
        moves.append((accounts[main], f"{ACCOUNT_NAMES[main]} {rate / 100:g} %", "", "",
                      sign * base))
        if vat:
            moves.append((accounts[tax], f"{ACCOUNT_NAMES[tax]} {rate / 100:g} %", "", "",
                          sign * vat))
    day = entry.issue_date.strftime("%Y%m%d")
    label = ("Avoir " if entry.credit_note else "Facture ") + entry.number
    for account, account_name, aux, aux_name, amount in moves:
        if entry.credit_note:
            amount = -amount
        debit, credit = (amount, 0) if amount >= 0 else (0, -amount)
        yield (entry.journal, JOURNALS[entry.journal], f"{entry.journal}{number:06d}", day,
               account, account_name, aux, aux_name, entry.number, day, label,
               money(debit), money(credit), "", "", day, "", "")


def fec_text(entries, accounts):
    """The FEC as tab-separated text (header first), entries numbered per journal."""
    lines = ["\t".join(COLUMNS)]
    counters = {journal: 0 for journal in JOURNALS}
    for entry in sorted(entries, key=lambda e: (e.journal, e.issue_date, e.number)):
        counters[entry.journal] += 1
        for row in rows_of(entry, counters[entry.journal], accounts):
            lines.append("\t".join(field.replace("\t", " ") for field in row))
    return "\r\n".join(lines) + "\r\n"


def balance_per_entry(text):
    """{EcritureNum: debit - credit in cents} of a FEC (for checks and tests)."""
    balances = {}
    for line in text.splitlines()[1:]:
        fields = line.split("\t")
        cents = lambda value: int(value.replace(",", ""))  # noqa: E731
        balances[fields[2]] = balances.get(fields[2], 0) + cents(fields[11]) - cents(fields[12])
    return balances
