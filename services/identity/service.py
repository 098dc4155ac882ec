"""Identity's entrypoints: organisations, users, access tokens and their keys."""
from nameko.rpc import rpc

from common.caller import load_caller
from common.db import Database
from common.service import RelaisService
from common.validation import load
from services.identity import accounts
from services.identity.models import Base
from services.identity.schemas import (
    OrganisationSchema, TokenRequestSchema, TokenSchema, UserCreateSchema, UserSchema,
)

organisation_schema = OrganisationSchema()
user_schema = UserSchema()
token_schema = TokenSchema()


class IdentityService(RelaisService):
    name = "identity"

    db = Database(Base)

    @rpc
    def create_organisation(self, caller, payload, idempotency_key=None):
        caller = load_caller(caller)
        data = load(OrganisationSchema(), payload)
        with self.db.unit_of_work() as uow:
            return uow.idempotent(
                f"create_organisation:{caller.user_id}", idempotency_key, payload,
                lambda: organisation_schema.dump(accounts.create_organisation(uow, caller, data)))

    @rpc
    def get_organisation(self, caller, organisation_id):
        caller = load_caller(caller)
        return organisation_schema.dump(
            accounts.get_organisation(self.db.session, caller, organisation_id))

    @rpc
    def create_user(self, caller, organisation_id, payload, idempotency_key=None):
        caller = load_caller(caller)
        data = load(UserCreateSchema(), payload)
        with self.db.unit_of_work() as uow:
            return uow.idempotent(
                f"create_user:{caller.user_id}", idempotency_key, payload,
                lambda: user_schema.dump(accounts.create_user(uow, caller, organisation_id, data)))

    @rpc
    def get_user(self, caller, user_id):
        caller = load_caller(caller)
        return user_schema.dump(accounts.get_user(self.db.session, caller, user_id))

    @rpc
    def issue_token(self, payload):
        data = load(TokenRequestSchema(), payload)
        return token_schema.dump(
            accounts.issue_token(self.db.session, data["email"], data["password"]))

    @rpc
    def jwks(self):
        return accounts.jwks(self.db.session)
