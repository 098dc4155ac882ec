"""Single sign-on's matching rules (services/identity/sso_rules.py), pure."""
from dataclasses import dataclass

import pytest

from services.identity.sso_rules import Refusal, email_domain, match_user, normalise_domain

DOMAINS = {"mutuelle.example", "mutuelle-sante.example"}


@dataclass
class User:
    name: str
    active: bool = True


def refusal(claims, by_subject=None, by_email=None):
    with pytest.raises(Refusal) as refused:
        match_user(claims, DOMAINS, by_subject, by_email)
    return refused.value.code


def test_the_subject_wins_over_the_email():
    by_subject, by_email = User("subject"), User("email")
    claims = {"sub": "00u1", "email": "camille@mutuelle.example"}

    assert match_user(claims, DOMAINS, by_subject, by_email) is by_subject


def test_the_subject_matches_whatever_the_email_says():
    """An externalId pushed by the company's own provider is its word: the
    address may be in a domain it does not cover, or absent."""
    user = User("subject")

    assert match_user({"sub": "00u1"}, DOMAINS, user, None) is user
    assert match_user({"sub": "00u1", "email": "c@gmail.example"}, DOMAINS, user, None) is user


def test_the_email_matches_within_the_covered_domains_only():
    user = User("email")

    assert match_user({"sub": "x", "email": "Camille@Mutuelle-Sante.example"}, DOMAINS, None,
                      user) is user
    assert refusal({"sub": "x", "email": "camille@elsewhere.example"}, by_email=user) \
        == "sso-no-account"


def test_an_address_the_provider_says_is_unverified_is_not_trusted():
    assert refusal({"sub": "x", "email": "camille@mutuelle.example", "email_verified": False},
                   by_email=User("email")) == "sso-email-unverified"


def test_nobody_is_created():
    assert refusal({"sub": "x", "email": "new@mutuelle.example"}) == "sso-no-account"
    assert refusal({"sub": "x"}) == "sso-no-account"
    assert refusal({"sub": "x", "email": ["not", "text"]}) == "sso-no-account"


def test_a_deactivated_user_is_refused_however_matched():
    assert refusal({"sub": "x"}, by_subject=User("gone", active=False)) == \
        "sso-user-deactivated"
    assert refusal({"sub": "x", "email": "gone@mutuelle.example"},
                   by_email=User("gone", active=False)) == "sso-user-deactivated"


@pytest.mark.parametrize("text, domain", [
    ("Mutuelle.EXAMPLE", "mutuelle.example"), (" mutuelle.example. ", "mutuelle.example"),
    ("xn--mutuelle-sant-kkb.fr", "xn--mutuelle-sant-kkb.fr"),
    ("localhost", None), ("@mutuelle.example", None), ("mutuelle..example", None),
    ("-bad.example", None), ("a" * 250 + ".fr", None), ("*.mutuelle.example", None),
])
def test_domains_are_dns_names_in_lower_case(text, domain):
    assert normalise_domain(text) == domain


def test_the_domain_of_an_email():
    assert email_domain("Camille@Mutuelle.Example") == "mutuelle.example"
    assert email_domain("no-at-sign") == ""
