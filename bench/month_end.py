"""Month-end benchmark (prints figures; not a test).

    .venv/bin/python -m bench.month_end [--companies 2000] [--lines 2000000] [--relays 200]

1. A throw-away billing database (``relais_bench<slot>_month_end``) is
   migrated, then filled in SQL with generate_series: relays (a quarter of as
   many operators, 15 % commission), companies with their legal identity, 20
   members per company, and N priced usage lines in October 2026 (desk
   half-days and days, rooms by the hour).
2. The month end, as the use cases run it (no broker; the clock is passed in):
   the month run (drafts), the same run again (nothing new), finalization of
   every draft (numbers, hash chain), the settlements, the chain check, the FEC.
   Aim: the whole month end under 60 s on this machine.
"""
import argparse
import os
import time
from datetime import date, datetime, timezone

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from common.caller import Caller
from common.config import DEFAULT_PG
from common.db import UnitOfWork, make_engine
from common.migrate import migrate
from services.billing import invoicing, settlements, verify, views
from services.billing.models import Base
from services.billing.settings import load_settings

SLOT = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
MONTH = date(2026, 10, 1)
NOW = datetime(2026, 11, 4, 9, tzinfo=timezone.utc)
ADMIN = Caller("00000000-0000-4000-8000-000000000001", None, frozenset({"network_admin"}))


def generate(engine, companies, lines, relays):
    operators = max(1, relays // 4)
    members = companies * 20
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO known_organisations (organisation_id, kind, name, legal_name, siret,
                vat_number, billing_email, billing_address)
            SELECT md5('c' || g)::uuid, 'corporate', 'Entreprise ' || g, 'Entreprise ' || g || ' SA',
                   lpad(g::text, 9, '0') || '00017', 'FR00' || lpad(g::text, 9, '0'),
                   'compta' || g || '@example.org', g || ' rue du Bench, 23000 Guéret'
            FROM generate_series(0, :companies - 1) g
            UNION ALL
            SELECT md5('o' || g)::uuid, 'relay_operator', 'Opérateur ' || g, 'SCIC ' || g,
                   lpad((g + 500000)::text, 9, '0') || '00011', NULL,
                   'gestion' || g || '@example.org', '1 place du Relais, 23400 Bourganeuf'
            FROM generate_series(0, :operators - 1) g"""),
            {"companies": companies, "operators": operators})
        conn.execute(text("""
            INSERT INTO known_relays (relay_id, name, timezone, operator_organisation_id)
            SELECT md5('r' || g)::uuid, 'Relais ' || g, 'Europe/Paris',
                   md5('o' || (g % :operators))::uuid
            FROM generate_series(0, :relays - 1) g"""), {"relays": relays, "operators": operators})
        conn.execute(text("""
            INSERT INTO commissions (id, operator_organisation_id, commission_bp, valid_from)
            SELECT gen_random_uuid(), md5('o' || g)::uuid, 1500, '2026-01-01'
            FROM generate_series(0, :operators - 1) g"""), {"operators": operators})
        conn.execute(text("""
            INSERT INTO usage_lines (id, booking_id, relay_id, organisation_id, member_id,
                space_kind, date, slot, half_days, duration_minutes, status, unit, quantity,
                unit_price_cents, vat_rate_bp, amount_excl_vat_cents, vat_cents,
                amount_incl_vat_cents)
            SELECT gen_random_uuid(), gen_random_uuid(), md5('r' || (g % :relays))::uuid,
                   md5('c' || ((g % :members) % :companies))::uuid,
                   md5('m' || (g % :members))::uuid,
                   CASE WHEN g % 10 = 0 THEN 'meeting_room' ELSE 'desk' END,
                   DATE '2026-10-01' + (g % 31),
                   CASE WHEN g % 10 = 0 THEN 'hours' WHEN g % 10 < 5 THEN 'morning' ELSE 'day' END,
                   CASE WHEN g % 10 >= 5 THEN 2 ELSE 1 END,
                   CASE WHEN g % 10 = 0 THEN 90 WHEN g % 10 < 5 THEN 240 ELSE 570 END,
                   'priced',
                   CASE WHEN g % 10 = 0 THEN 'hour' WHEN g % 10 < 5 THEN 'half_day' ELSE 'day' END,
                   CASE WHEN g % 10 = 0 THEN 1.5 ELSE 1 END,
                   CASE WHEN g % 10 = 0 THEN 3000 WHEN g % 10 < 5 THEN 1250 ELSE 2200 END, 2000,
                   CASE WHEN g % 10 = 0 THEN 4500 WHEN g % 10 < 5 THEN 1250 ELSE 2200 END,
                   CASE WHEN g % 10 = 0 THEN 900 WHEN g % 10 < 5 THEN 250 ELSE 440 END,
                   CASE WHEN g % 10 = 0 THEN 5400 WHEN g % 10 < 5 THEN 1500 ELSE 2640 END
            FROM generate_series(1, :lines) g"""),
            {"relays": relays, "members": members, "companies": companies, "lines": lines})
        conn.execute(text("ANALYZE"))


def timed(label, figures, step):
    started = time.perf_counter()
    result = step()
    figures[label] = time.perf_counter() - started
    print(f"  {label:<34} {figures[label]:7.2f} s   {result}", flush=True)
    return result


def in_unit_of_work(engine, operation):
    with Session(engine) as session:
        uow = UnitOfWork(session, "billing", Base.metadata)
        result = operation(uow)
        session.commit()
        return result


def fec_rows(session, settings):
    return len(views.fec_export(session, ADMIN, 2026, settings).splitlines()) - 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--relays", type=int, default=200)
    args = parser.parse_args()
    name = f"relais_bench{SLOT or ''}_month_end"
    admin = create_engine(f"{DEFAULT_PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    url = f"{DEFAULT_PG}/{name}"
    migrate("billing", url)
    engine = make_engine(url, pool_size=2)
    settings = load_settings({})
    print(f"month end of {MONTH:%Y-%m}: {args.companies} companies, {args.lines:,} usage lines, "
          f"{args.relays} relays", flush=True)
    started = time.perf_counter()
    generate(engine, args.companies, args.lines, args.relays)
    print(f"  generated in SQL in {time.perf_counter() - started:.1f} s (not counted)", flush=True)

    figures = {}
    timed("month run (drafts)", figures, lambda: in_unit_of_work(
        engine, lambda uow: invoicing.run_month(uow, ADMIN, MONTH, NOW, settings)))
    timed("the same run again", figures, lambda: in_unit_of_work(
        engine, lambda uow: invoicing.run_month(uow, ADMIN, MONTH, NOW, settings)))

    def finalize_all():
        done = 0
        while True:
            batch = in_unit_of_work(engine, lambda uow: invoicing.finalize_due_drafts(
                uow, NOW, settings, batch=250))
            done += batch
            if not batch:
                return f"{done} invoices final"
    timed("finalize every draft", figures, finalize_all)
    timed("settlements", figures, lambda: in_unit_of_work(
        engine, lambda uow: settlements.run_settlements(uow, ADMIN, MONTH, NOW, settings)))
    with Session(engine) as session:
        timed("verify the hash chain", figures, lambda: verify.verify(session)[0])
        timed("FEC of 2026", figures, lambda: f"{fec_rows(session, settings)} rows")
    total = sum(v for k, v in figures.items()
                if k not in ("the same run again", "verify the hash chain"))
    print(f"  month end (run + finalize + settle + FEC): {total:.1f} s "
          f"({'meets' if total < 60 else 'misses'} the 60 s aim)")
    with engine.connect() as conn:
        check = conn.execute(text(
            "SELECT (SELECT count(*) FROM invoiced_usage) AS invoiced, "
            "(SELECT count(*) FROM usage_lines) AS lines, "
            "(SELECT sum(total_gross_cents) FROM documents WHERE kind = 'invoice') AS gross"
        )).one()
    print(f"  every line invoiced once: {check.invoiced:,} of {check.lines:,}; "
          f"invoiced {check.gross / 100:,.2f} € incl. VAT")
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


if __name__ == "__main__":
    main()
