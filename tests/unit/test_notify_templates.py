from types import SimpleNamespace

from services.notify import templates

BOOKING = {"booking_id": "b-1", "relay_name": "Relais de Felletin", "space_name": "Bureau 1",
           "space_kind": "desk", "slot": "morning", "timezone": "Europe/Paris",
           "local_starts_at": "2026-12-03T08:30:00+01:00",
           "local_ends_at": "2026-12-03T12:30:00+01:00"}
LOU = SimpleNamespace(full_name="Lou Nomade", email="lou@example.org", locale="fr")


def test_a_late_cancellation_says_it_stays_billed_and_why():
    mail = templates.booking_cancelled(LOU, dict(BOOKING, late=True, cancelled_by="member",
                                                 reason=None))
    assert mail.subject == "Réservation annulée : Relais de Felletin, 03/12/2026"
    assert "à votre demande" in mail.body and "reste facturée" in mail.body
    assert "08:30–12:30" in mail.body


def test_a_cancellation_by_the_relay_gives_the_reason_and_no_billing_notice():
    mail = templates.booking_cancelled(LOU, dict(BOOKING, late=False, cancelled_by="relay_manager",
                                                 reason="dégât des eaux"))
    assert "par le relais" in mail.body and "Motif : dégât des eaux." in mail.body
    assert "facturée" not in mail.body


def test_a_no_show_mail_says_the_desk_was_released():
    mail = templates.booking_no_show(LOU, BOOKING)
    assert mail.subject.startswith("Absence constatée") and "libérée" in mail.body
    assert mail.to == "lou@example.org"


def test_a_desk_booking_says_until_when_to_check_in_and_the_no_show_mail_the_same_time():
    walk_in = dict(BOOKING, local_release_at="2026-12-03T10:30:00+01:00")
    assert "Enregistrez votre arrivée au relais avant 10:30 le 03/12/2026" in \
        templates.booking_confirmed(LOU, walk_in).body
    assert "arrivée avant 10:30, votre place a été libérée" in \
        templates.booking_no_show(LOU, walk_in).body
    # A room (no release) says nothing of it.
    assert "Enregistrez" not in templates.booking_confirmed(LOU, BOOKING).body


def test_a_room_by_the_hour_reads_well():
    mail = templates.booking_confirmed(LOU, dict(BOOKING, slot="hours", space_kind="meeting_room",
                                                 local_ends_at="2026-12-03T10:30:00+01:00"))
    assert "une salle (Bureau 1)" in mail.body and "créneau (08:30–10:30)" in mail.body


def test_billing_mails_speak_euros_and_dates_the_french_way():
    data = {"number": "F2026-000012", "issue_date": "2026-11-04", "due_date": "2026-12-04",
            "total_net_cents": 4400, "total_vat_cents": 880, "total_gross_cents": 5280,
            "balance_cents": 5280, "month": "2026-10-01"}
    mail = templates.invoice_finalized("compta@example.org", data)
    assert mail.subject == "Facture F2026-000012 : 52,80 € TTC"
    assert "44,00 € HT" in mail.body and "avant le 04/12/2026" in mail.body
    assert "40 €" in templates.invoice_overdue("compta@example.org", data).body
    assert templates.euros(123456789) == "1\u202f234\u202f567,89 €"
    assert templates.euros(-5) == "-0,05 €"
    assert "autofacturation" in templates.settlement_issued("x@example.org", data).body
