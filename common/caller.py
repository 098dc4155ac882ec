"""Who is calling: the context the gateway passes with every RPC, taken from a
verified access token. Services enforce scope from it themselves."""
from dataclasses import dataclass, field

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from common import errors
from common.validation import flatten_messages
from contracts.vocabulary import CREDENTIALS, ROLES


@dataclass(frozen=True)
class Caller:
    user_id: str
    organisation_id: str | None
    roles: frozenset = field(default_factory=frozenset)
    relay_ids: frozenset = field(default_factory=frozenset)
    credential: str = "access_token"

    def context(self):
        """The caller as the RPC context it came in: to ask another service on
        its behalf (that service checks its scope as for the caller itself)."""
        return {"user_id": self.user_id, "organisation_id": self.organisation_id,
                "roles": sorted(self.roles), "relay_ids": sorted(self.relay_ids),
                "credential": self.credential}

    def has(self, *roles):
        return bool(self.roles.intersection(roles))

    @property
    def is_network_admin(self):
        return "network_admin" in self.roles

    @property
    def is_machine(self):
        """An API key or a SCIM token: a program acting for its organisation,
        not a person (see services/identity/README.md, "machine credentials")."""
        return self.credential in ("api_key", "scim_token")

    @property
    def sees_whole_network(self):
        return self.has("network_admin", "network_ops")

    def require(self, *roles):
        if not self.has(*roles):
            raise errors.Forbidden(f"This needs one of the roles: {', '.join(roles)}.")


class CallerSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    user_id = fields.String(required=True)
    organisation_id = fields.String(load_default=None, allow_none=True)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), load_default=list)
    relay_ids = fields.List(fields.String(), load_default=list)
    credential = fields.String(load_default="access_token", validate=validate.OneOf(CREDENTIALS))

    @post_load
    def make(self, data, **kwargs):
        return Caller(data["user_id"], data["organisation_id"],
                      frozenset(data["roles"]), frozenset(data["relay_ids"]), data["credential"])


_schema = CallerSchema()


def load_caller(raw):
    """The caller of an RPC that needs one; anonymous calls are refused."""
    if not raw:
        raise errors.Unauthorized("This needs an authenticated caller.")
    try:
        return _schema.load(raw)
    except (ValidationError, TypeError) as exc:
        raise errors.Unauthorized("The caller context is not valid.",
                                  fields=flatten_messages(getattr(exc, "messages", str(exc)))
                                  ) from None
