"""Billing's settings: from the container config (tests), else the
environment (``RELAIS_BILLING_*``, ``RELAIS_NETWORK_*``), else defaults."""
from dataclasses import dataclass

from common import config

LINE_GROUPINGS = ("member_and_kind", "booking")

# The network's own legal identity, printed as the seller of every invoice and
# the buyer of every settlement. Deployments set their real one.
# These are well-formed (Luhn-valid SIREN and SIRET, VAT key computed) but
# made up, like documents/examples.py's.
NETWORK_DEFAULTS = {
    "legal_name": "Relais des Possibles SAS",
    "address_line": "12 rue des Tiers-Lieux",
    "postcode": "69002",
    "city": "Lyon",
    "siren": "918273640",
    "siret": "91827364000014",
    "vat_number": "FR77918273640",
    "email": "facturation@relais.example",
}

# FEC account numbers (plan comptable général), configurable.
ACCOUNT_DEFAULTS = {
    "customers": "411000", "suppliers": "401000", "sales": "706000",
    "purchases": "604000", "vat_collected": "445710", "vat_deductible": "445660",
}


@dataclass(frozen=True)
class BillingSettings:
    grace_days: int = 3
    payment_days: int = 30
    review_days: int = 15
    line_grouping: str = "member_and_kind"
    network: tuple = tuple(NETWORK_DEFAULTS.items())
    accounts: tuple = tuple(ACCOUNT_DEFAULTS.items())

    @property
    def network_party(self):
        return dict(self.network)

    @property
    def account(self):
        return dict(self.accounts)


def load_settings(container_config=None):
    container_config = container_config or {}

    def get(name, default):
        if name in container_config:
            return container_config[name]
        return config.env(name, default)

    network = {key: get(f"NETWORK_{key.upper()}", value) for key, value in NETWORK_DEFAULTS.items()}
    accounts = {key: get(f"BILLING_ACCOUNT_{key.upper()}", value)
                for key, value in ACCOUNT_DEFAULTS.items()}
    grouping = get("BILLING_INVOICE_LINES", "member_and_kind")
    if grouping not in LINE_GROUPINGS:
        raise ValueError(f"RELAIS_BILLING_INVOICE_LINES must be one of {LINE_GROUPINGS}")
    return BillingSettings(
        grace_days=int(get("BILLING_GRACE_DAYS", 3)),
        payment_days=int(get("BILLING_PAYMENT_DAYS", 30)),
        review_days=int(get("BILLING_REVIEW_DAYS", 15)),
        line_grouping=grouping,
        network=tuple(network.items()), accounts=tuple(accounts.items()))
