"""Single sign-on with a company's OpenID Connect provider: its settings, and
the two halves of the authorization code flow (PKCE S256, state, nonce).

``begin`` makes the state, the nonce and the PKCE verifier and the provider's
URL; the gateway keeps the three server-side, single use, for ten minutes
(Redis), and hands them back with the code. ``verify`` exchanges the code
(with the client secret, which never leaves identity) and checks the ID token
(oidc.py); ``signed_in_user`` matches the provisioned user (sso_rules.py), and
the service issues the platform's own tokens, as a password log-in does.
"""
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from common import config, errors
from services.identity import audit, oidc, sso_rules, sso_secrets
from services.identity.models import SsoConnection, SsoDomain, User
from services.identity.scope import administered_organisation

SCOPES = "openid email profile"


# -- settings -------------------------------------------------------------------

def get_settings(session, caller, organisation_id):
    organisation = _corporate(session, caller, organisation_id, write=False)
    connection = session.get(SsoConnection, organisation.id)
    if connection is None:
        raise errors.NotFound("This organisation has no single sign-on.", code="no-sso")
    return settings_view(session, connection)


def set_settings(uow, caller, organisation_id, data):
    """Save the settings once the issuer's discovery document is read (its
    endpoints are kept); the domains replace the previous ones."""
    organisation = _corporate(uow.session, caller, organisation_id, write=True)
    domains = sorted({sso_rules.normalise_domain(domain) or "" for domain in data["domains"]})
    if "" in domains:
        raise errors.InvalidInput("Each domain is a domain name, such as example.com.",
                                  code="invalid-domain",
                                  fields={"domains": ["Not a domain name."]})
    _refuse_domains_of_others(uow.session, organisation.id, domains)
    if not data.get("client_secret") and uow.session.get(SsoConnection, organisation.id) is None:
        raise errors.InvalidInput("The client secret is required the first time.",
                                  code="client-secret-required",
                                  fields={"client_secret": ["Required the first time."]})
    try:   # before the row is locked: nobody waits on the provider
        endpoints = oidc.discover(data["issuer"])
    except oidc.ProviderError as exc:
        raise errors.InvalidInput(exc.detail, code=exc.code, fields={"issuer": [exc.detail]}) \
            from None
    connection = uow.session.get(SsoConnection, organisation.id, with_for_update=True)
    if connection is None:
        connection = SsoConnection(organisation_id=organisation.id)
        uow.session.add(connection)
    if data.get("client_secret"):
        connection.client_secret_encrypted = sso_secrets.encrypt(data["client_secret"])
    connection.issuer, connection.client_id = data["issuer"], data["client_id"]
    connection.passwords_allowed = data["passwords_allowed"]
    connection.updated_by = caller.user_id
    for name, value in endpoints.items():
        setattr(connection, name, value)
    try:
        with uow.session.begin_nested():
            uow.session.flush()
            uow.session.execute(delete(SsoDomain).where(SsoDomain.organisation_id ==
                                                        organisation.id))
            uow.session.add_all(SsoDomain(domain=domain, organisation_id=organisation.id)
                                for domain in domains)
            uow.session.flush()
    except IntegrityError:
        raise errors.Conflict("One of these domains is another organisation's.",
                              code="sso-domain-taken",
                              fields={"domains": ["Already covered elsewhere."]}) from None
    audit.record(uow, caller, organisation.id, "sso.changed", "sso", organisation.id, {
        "issuer": connection.issuer, "client_id": connection.client_id, "domains": domains,
        "passwords_allowed": connection.passwords_allowed,
        "client_secret_changed": bool(data.get("client_secret"))})
    return settings_view(uow.session, connection)


def _refuse_domains_of_others(session, organisation_id, domains):
    """A company may not claim a domain where another organisation has people
    (a webmail's, the network's own): its sign-in button would be offered to
    them, sending them to this company's provider."""
    for domain in domains:
        elsewhere = session.execute(select(User.id).where(
            User.organisation_id != organisation_id, User.deleted_at.is_(None),
            func.lower(User.email).endswith("@" + domain, autoescape=True)).limit(1)).first()
        if elsewhere:
            raise errors.Conflict(f"Another organisation has people in {domain}.",
                                  code="sso-domain-used-elsewhere",
                                  fields={"domains": [f"{domain}: used elsewhere."]})


def delete_settings(uow, caller, organisation_id):
    organisation = _corporate(uow.session, caller, organisation_id, write=True)
    connection = uow.session.get(SsoConnection, organisation.id)
    if connection is None:
        raise errors.NotFound("This organisation has no single sign-on.", code="no-sso")
    uow.session.delete(connection)
    audit.record(uow, caller, organisation.id, "sso.deleted", "sso", organisation.id)


def settings_view(session, connection):
    return {"organisation_id": connection.organisation_id, "issuer": connection.issuer,
            "client_id": connection.client_id, "client_secret_set": True,
            "domains": _domains(session, connection.organisation_id),
            "passwords_allowed": connection.passwords_allowed,
            "redirect_uris": config.sso_redirect_uris(), "updated_at": connection.updated_at}


def _corporate(session, caller, organisation_id, write):
    organisation = administered_organisation(session, caller, organisation_id, write=write)
    if organisation.kind != "corporate":
        raise errors.NotFound("Only corporate accounts have single sign-on.", code="no-sso")
    return organisation


def _domains(session, organisation_id):
    return sorted(session.execute(select(SsoDomain.domain).where(
        SsoDomain.organisation_id == organisation_id)).scalars())


# -- who signs in how ---------------------------------------------------------------

def connection_for_email(session, email):
    """The connection covering the e-mail's domain, or None."""
    domain = session.get(SsoDomain, sso_rules.email_domain(email))
    return session.get(SsoConnection, domain.organisation_id) if domain else None


def discover(session, email):
    """Whether single sign-on applies to the e-mail's domain. The answer
    depends on the domain alone: it never tells whether an account exists."""
    connection = connection_for_email(session, email)
    return {"sso": connection is not None,
            "passwords_allowed": connection is None or connection.passwords_allowed}


def password_refusal(session, organisation_id):
    """Forbidden ``sso-required`` when the user's organisation lets its people
    sign in only with their company account."""
    connection = session.get(SsoConnection, organisation_id)
    if connection is None or connection.passwords_allowed:
        return None
    return errors.Forbidden(
        "Your company signs you in with its own account: use \"Sign in with your company "
        "account\" (GET /v1/sso/start?email=...), not a password.", code="sso-required")


def begin(session, email, redirect_uri=None):
    """The provider's authorization URL for this e-mail's company, with the
    state, nonce and PKCE verifier the callback will need."""
    connection = connection_for_email(session, email)
    if connection is None:
        raise errors.NotFound("Single sign-on does not cover this e-mail address's domain.",
                              code="no-sso-for-domain")
    redirect_uri = redirect_uri or config.sso_redirect_uris()[0]
    if redirect_uri not in config.sso_redirect_uris():
        raise errors.InvalidInput("This redirect URI is not one of Relais's callbacks.",
                                  code="invalid-redirect-uri",
                                  fields={"redirect_uri": ["Not a Relais callback."]})
    state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
    url = add_params_to_uri(connection.authorization_endpoint, [
        ("response_type", "code"), ("client_id", connection.client_id),
        ("redirect_uri", redirect_uri), ("scope", SCOPES), ("state", state), ("nonce", nonce),
        ("code_challenge", create_s256_code_challenge(verifier)),
        ("code_challenge_method", "S256"), ("login_hint", email)])
    return {"authorization_url": url, "state": state, "nonce": nonce, "code_verifier": verifier,
            "organisation_id": connection.organisation_id, "redirect_uri": redirect_uri}


def verify(session, data):
    """The ID token's claims once the provider exchanged the code and the
    token passed its checks; Unauthorized (or Unavailable) otherwise. The
    settings are read first and the read ends before the provider is called:
    no transaction waits on it."""
    connection = session.get(SsoConnection, data["organisation_id"])
    if connection is None:
        raise errors.Unauthorized("Single sign-on was switched off meanwhile.", code="no-sso")
    client = oidc.Client(issuer=connection.issuer, client_id=connection.client_id,
                         token_endpoint=connection.token_endpoint, jwks_uri=connection.jwks_uri)
    client_secret = sso_secrets.decrypt(connection.client_secret_encrypted)
    session.rollback()
    if data.get("iss") is not None and data["iss"] != client.issuer:
        # RFC 9207: the answer came from another provider (a mix-up attack)
        raise errors.Unauthorized("The answer comes from another identity provider.",
                                  code="sso-issuer-mismatch")
    try:
        answer = oidc.exchange_code(client, client_secret, data["code"], data["code_verifier"],
                                    data["redirect_uri"])
        return oidc.verify_id_token(client, answer["id_token"], data["nonce"],
                                    answer.get("access_token"))
    except oidc.ProviderError as exc:
        if exc.code == "sso-provider-unreachable":
            raise errors.Unavailable(exc.detail, code=exc.code) from None
        raise errors.Unauthorized(exc.detail, code=exc.code) from None


def signed_in_user(session, organisation_id, claims):
    """The organisation's provisioned user the claims name (sso_rules.py);
    Unauthorized otherwise."""
    organisation_users = select(User).where(User.organisation_id == organisation_id,
                                            User.deleted_at.is_(None))
    by_subject = session.execute(organisation_users.where(
        User.external_id == claims["sub"])).scalar_one_or_none()
    email = claims.get("email")
    by_email = session.execute(organisation_users.where(
        func.lower(User.email) == email.strip().lower())).scalar_one_or_none() \
        if isinstance(email, str) else None
    try:
        return sso_rules.match_user(claims, set(_domains(session, organisation_id)),
                                    by_subject, by_email)
    except sso_rules.Refusal as refusal:
        raise errors.Unauthorized(refusal.detail, code=refusal.code) from None
