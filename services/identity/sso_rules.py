"""Single sign-on's rules, pure (standard library only): which domains a
connection may cover, and which provisioned user an ID token's claims name.

Matching (``match_user``), in this order:

1. the user of the connection's organisation whose ``externalId`` is the
   token's ``sub`` (Okta's SCIM pushes its user id as externalId, the same as
   its ``sub``);
2. else the user of that organisation whose e-mail is the token's ``email``,
   if that e-mail is in a domain the connection covers and the provider did
   not say it is unverified (``email_verified: false``). Entra ID's ``sub`` is
   pairwise (per application), never its SCIM externalId: its users match here.

Nobody is ever created, and nobody of another organisation is looked at (the
caller looks up only the connection's organisation). A deactivated user is
refused. Every refusal has a stable code the gateway turns into a problem.
"""
import re

# A DNS name: labels of letters, digits and hyphens (IDNs in their xn-- form),
# at least one dot. Bounded, and linear to check.
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}"
                    r"[a-z0-9]$")


class Refusal(Exception):
    def __init__(self, code, detail):
        super().__init__(detail)
        self.code, self.detail = code, detail


def normalise_domain(text):
    """``Example.COM.`` -> ``example.com``; None if it is not a domain name."""
    domain = text.strip().lower().rstrip(".")
    return domain if DOMAIN.match(domain) else None


def email_domain(email):
    """The domain of an e-mail address, lower case ('' if it has none)."""
    return email.rpartition("@")[2].strip().lower().rstrip(".") if "@" in email else ""


def match_user(claims, covered_domains, by_subject, by_email):
    """The user the claims name: ``by_subject`` (the organisation's user whose
    externalId is ``sub``) or ``by_email`` (its user with the claims' e-mail),
    each None when there is none. Raises Refusal."""
    user = by_subject
    if user is None:
        email = claims.get("email")
        if not isinstance(email, str) or email_domain(email) not in covered_domains:
            raise Refusal("sso-no-account", "Your company account is not linked to a Relais "
                          "account: ask your company's administrator.")
        if claims.get("email_verified") is False:
            raise Refusal("sso-email-unverified", "Your identity provider says this e-mail "
                          "address is not verified.")
        user = by_email
    if user is None:
        raise Refusal("sso-no-account", "Your company account is not linked to a Relais "
                      "account: ask your company's administrator.")
    if not user.active:
        raise Refusal("sso-user-deactivated", "This account is deactivated.")
    return user
