"""What the gateway must know of identity's credentials to check them without
identity's code: the access tokens' claims and algorithm, and the prefixes that
tell one kind of opaque secret from another."""

ISSUER = "relais-identity"
AUDIENCE = "relais"
ALGORITHM = "EdDSA"

# Opaque secrets: refresh tokens, API keys, SCIM tokens, invitation tokens,
# sign-up (e-mail verification) tokens, programmes' invitation codes.
# The prefix tells people and secret scanners what a leaked one is.
SECRET_PREFIXES = {"refresh": "rrt_", "api_key": "rlk_", "scim_token": "rls_",
                   "invitation": "riv_", "sign_up": "rsu_", "programme_code": "rpg_"}


def secret_kind(secret):
    """Which kind of opaque secret this looks like, or None."""
    for kind, prefix in SECRET_PREFIXES.items():
        if secret.startswith(prefix):
            return kind
    return None
