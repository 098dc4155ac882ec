"""Identity's contract: RPC payloads and event data."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.caller import ROLES

PASSWORD_MIN_LENGTH = 12
ORGANISATION_KINDS = ("network", "relay_operator", "corporate", "individual")


class OrganisationSchema(Schema):
    id = fields.String(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    legal_name = fields.String(load_default=None, validate=validate.Length(1, 200))
    siret = fields.String(load_default=None, validate=validate.Regexp(
        r"^\d{14}$", error="A SIRET has 14 digits."))
    vat_number = fields.String(load_default=None, validate=validate.Regexp(
        r"^[A-Z]{2}[0-9A-Z]{2,13}$", error="An intra-EU VAT number, e.g. FR40303265045."))
    billing_email = fields.Email(load_default=None)
    billing_address = fields.String(load_default=None, validate=validate.Length(1, 500))
    created_at = fields.AwareDateTime(dump_only=True)

    @validates_schema(skip_on_field_errors=False)
    def corporate_accounts_are_invoiced(self, data, **kwargs):
        if data.get("kind") == "corporate":
            missing = [name for name in ("legal_name", "siret", "billing_email")
                       if not data.get(name)]
            if missing:
                raise ValidationError({name: ["Required for a corporate account."]
                                       for name in missing})


class UserCreateSchema(Schema):
    email = fields.Email(required=True)
    full_name = fields.String(required=True, validate=validate.Length(1, 200))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), load_default=["member"],
                        validate=validate.Length(min=1))
    relay_ids = fields.List(fields.UUID(), load_default=list)
    password = fields.String(load_only=True, load_default=None, validate=validate.Length(
        PASSWORD_MIN_LENGTH, 256,
        error=f"A password has at least {PASSWORD_MIN_LENGTH} characters."))


class UserSchema(Schema):
    id = fields.String()
    organisation_id = fields.String()
    email = fields.String()
    full_name = fields.String()
    roles = fields.List(fields.String())
    relay_ids = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.AwareDateTime()


class TokenRequestSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(1, 256))


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class UserProvisionedSchema(Schema):
    """Data of ``identity.user_provisioned``."""
    user_id = fields.String(required=True)
    organisation_id = fields.String(required=True)
    email = fields.String(required=True)
    full_name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
