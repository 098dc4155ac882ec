"""SCIM 2.0 (RFC 7643/7644) as both sides speak it: the gateway serves
``/scim/v2`` over HTTP, identity keeps the users."""

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
# Core User attributes Relais keeps as the identity provider sent them and reads
# back unchanged, without using them (services/identity/scim_protocol.py; the
# OpenAPI document lists them). preferredLanguage also sets the mails' language.
KEPT_ATTRIBUTES = (
    "nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale", "timezone",
    "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles", "x509Certificates")
KEPT_NAME_PARTS = ("middleName", "honorificPrefix", "honorificSuffix")


def normalise_path(path):
    """``urn:...:User:name.givenName`` -> ``name.givenname``; the enterprise
    extension's attributes -> ``enterprise:<name>``."""
    path = path.strip()
    lowered = path.lower()
    if lowered.startswith(ENTERPRISE_SCHEMA.lower()):
        return "enterprise:" + lowered[len(ENTERPRISE_SCHEMA):].lstrip(":")
    if lowered.startswith(USER_SCHEMA.lower() + ":"):
        return lowered[len(USER_SCHEMA) + 1:]
    return lowered


def project(resource, attributes=None, excluded=None):
    """RFC 7644 3.4.2.5: only the ``attributes`` asked for (with ``id`` and
    ``schemas``, always returned), or all but the ``excluded`` ones. Names are
    comma-separated, case-insensitive, one level of sub-attribute."""
    def names(given):  # "a,b" in a query string; ["a", "b"] in a .search body
        given = ",".join(given) if isinstance(given, list) else (given or "")
        return [normalise_path(name) for name in given.split(",") if name.strip()]

    always = {"id", "schemas"}
    wanted, unwanted = names(attributes), names(excluded)
    projected = {}
    for key, value in resource.items():
        lowered = key.lower()
        subs = [name.split(".", 1)[1] for name in (wanted or unwanted)
                if name.startswith(lowered + ".")]
        if wanted and lowered not in always:
            if lowered in wanted:
                projected[key] = value
            elif subs and isinstance(value, dict):
                projected[key] = {k: v for k, v in value.items() if k.lower() in subs}
            continue
        if lowered in unwanted and lowered not in always:
            continue
        if subs and unwanted and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k.lower() not in subs}
        projected[key] = value
    return projected
