"""Billing's documents as a person and an accounting system read them:
the pure model of an invoice, a credit note or a self-billed settlement
(``model.py``), its Factur-X CII XML, its PDF/A-3, and their validation."""
