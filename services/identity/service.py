"""Identity's entrypoints: log-in and tokens, organisations, users, policies,
profiles, API keys and SCIM tokens, CSV import, SCIM, the audit log.

Each one validates its input, calls a use case, dumps the answer. Secrets
(passwords, tokens, keys) are never logged: nameko logs no arguments, and the
use cases keep only their hashes.
"""

from common.caller import load_caller
from common.db import Database
from common.entrypoints import idempotent
from common.rpc import rpc
from common.service import RelaisService
from common.validation import load
from contracts.rpc.identity import (
    ApiKeyCreateSchema, AuditEntrySchema, AuditQuerySchema, CsvImportQuerySchema,
    CsvImportReportSchema, CsvImportSchema, EmailVerificationSchema, EnrolmentCreateSchema,
    EnrolmentListQuerySchema, EnrolmentSchema, GroupPolicySchema, JoinProgrammeSchema,
    ProgrammeCodeSchema, ProgrammeSchema, GroupSchema, InvitationSchema,
    MachineCredentialSchema,
    OrganisationListQuerySchema, OrganisationSchema, PasswordSetSchema, PolicySchema,
    ProfileSchema, RefreshRequestSchema, ScimTokenCreateSchema, SignUpSchema, SsoBeginSchema,
    SsoCompleteSchema, SsoDiscoverQuerySchema, SsoDiscoverySchema, SsoSettingsSchema,
    SsoStartQuerySchema,
    TokenRequestSchema, TokenSchema,
    UserCreateSchema, UserListQuerySchema, UserLocaleSchema, UserSchema,
)
from services.identity import (
    accounts, audit, credentials, csv_import, group_policies, invitations, policies, profiles,
    scim,
    programmes, scim_protocol, sessions, sign_ups, sso,
)
from services.identity.models import Base

organisation_schema = OrganisationSchema()
user_schema = UserSchema()
token_schema = TokenSchema()
policy_schema = PolicySchema()
group_policy_schema = GroupPolicySchema()
group_schema = GroupSchema()
profile_schema = ProfileSchema()
credential_schema = MachineCredentialSchema()
sso_settings_schema = SsoSettingsSchema()


class IdentityService(RelaisService):
    name = "identity"

    db = Database(Base)

    # Log-in, tokens, keys ----------------------------------------------------

    @rpc
    def issue_token(self, payload):
        data = load(TokenRequestSchema(), payload)
        with self.db.unit_of_work() as uow:
            outcome = sessions.log_in(uow, data["email"], data["password"])
        return token_schema.dump(outcome.unwrap())

    @rpc
    def refresh_token(self, payload):
        data = load(RefreshRequestSchema(), payload)
        with self.db.unit_of_work() as uow:
            outcome = sessions.refresh(uow, data["refresh_token"])
        return token_schema.dump(outcome.unwrap())

    @rpc
    def log_out(self, payload):
        data = load(RefreshRequestSchema(), payload)
        with self.db.unit_of_work() as uow:
            sessions.log_out(uow, data["refresh_token"])

    @rpc
    def set_password(self, payload):
        data = load(PasswordSetSchema(), payload)
        with self.db.unit_of_work() as uow:
            return user_schema.dump(accounts.accept_invitation(uow, data["token"], data["password"]))

    @rpc(callers=("notify",))
    def issue_invitation_link(self, invitation_id):
        """For notify, when it mails an invitation: the link, minted now. Not
        routed by the gateway."""
        with self.db.unit_of_work() as uow:
            return invitations.issue_link(uow, invitation_id)

    # Single sign-on (sso.py) ---------------------------------------------------

    @rpc
    def sso_discover(self, query):
        data = load(SsoDiscoverQuerySchema(), query)
        return SsoDiscoverySchema().dump(sso.discover(self.db.session, data["email"]))

    @rpc
    def sso_begin(self, query):
        """For the gateway, which keeps the state, nonce and verifier until the
        callback."""
        data = load(SsoStartQuerySchema(), query)
        return SsoBeginSchema().dump(sso.begin(self.db.session, data["email"],
                                               data["redirect_uri"]))

    @rpc
    def sso_complete(self, query):
        """For the gateway: the callback's query, with what it kept since
        ``sso_begin`` (used up by then)."""
        data = load(SsoCompleteSchema(), query)
        claims = sso.verify(self.db.session, data)   # the provider, outside any transaction
        with self.db.unit_of_work() as uow:
            user = sso.signed_in_user(uow.session, data["organisation_id"], claims)
            return token_schema.dump(sessions.issue_tokens(uow.session, user))

    @rpc
    def get_sso_settings(self, caller, organisation_id):
        caller = load_caller(caller)
        return sso_settings_schema.dump(sso.get_settings(self.db.session, caller,
                                                         organisation_id))

    @rpc
    def set_sso_settings(self, caller, organisation_id, payload):
        caller = load_caller(caller)
        data = load(SsoSettingsSchema(), payload)
        with self.db.unit_of_work() as uow:
            return sso_settings_schema.dump(sso.set_settings(uow, caller, organisation_id, data))

    @rpc
    def delete_sso_settings(self, caller, organisation_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            sso.delete_settings(uow, caller, organisation_id)

    # Residents' sign-up ---------------------------------------------------------

    @rpc
    def sign_up(self, payload):
        """The same answer for any address (sign_ups.py): notify mails the rest."""
        data = load(SignUpSchema(), payload)
        with self.db.unit_of_work() as uow:
            sign_ups.request(uow, data)
        return {"status": "check-your-mail",
                "detail": "If this address can be used, a mail is on its way to it: "
                          "follow its link within 24 hours."}

    @rpc(callers=("notify",))
    def issue_sign_up_link(self, sign_up_id):
        """For notify, when it mails a sign-up's verification link: minted now.
        Not routed by the gateway."""
        with self.db.unit_of_work() as uow:
            return sign_ups.issue_link(uow, sign_up_id)

    @rpc
    def verify_email(self, payload):
        data = load(EmailVerificationSchema(), payload)
        with self.db.unit_of_work() as uow:
            return user_schema.dump(sign_ups.verify(uow, data["token"]))

    @rpc
    def jwks(self):
        return sessions.jwks(self.db.session)

    @rpc
    def authenticate_secret(self, secret):
        """The caller context of an API key or SCIM token (for the gateway)."""
        with self.db.unit_of_work() as uow:
            return credentials.authenticate(uow.session, secret)

    # Organisations ------------------------------------------------------------

    @rpc
    @idempotent(OrganisationSchema)
    def create_organisation(self, uow, caller, data):
        return organisation_schema.dump(accounts.create_organisation(uow, caller, data))

    @rpc
    def get_organisation(self, caller, organisation_id):
        caller = load_caller(caller)
        return organisation_schema.dump(
            accounts.get_organisation(self.db.session, caller, organisation_id))

    @rpc
    def list_organisations(self, caller, query=None):
        caller = load_caller(caller)
        query = load(OrganisationListQuerySchema(), query or {})
        return organisation_schema.dump(
            accounts.list_organisations(self.db.session, caller, query), many=True)

    # Users ----------------------------------------------------------------------

    @rpc
    @idempotent(UserCreateSchema)
    def create_user(self, uow, caller, data, organisation_id):
        # The request (with its password) is kept only as a keyed hash (HMAC).
        return user_schema.dump(accounts.create_user(uow, caller, organisation_id, data))

    @rpc
    def get_user(self, caller, user_id):
        caller = load_caller(caller)
        return user_schema.dump(accounts.get_user(self.db.session, caller, user_id))

    @rpc
    def list_users(self, caller, organisation_id, query=None):
        caller = load_caller(caller)
        query = load(UserListQuerySchema(), query or {})
        return user_schema.dump(
            accounts.list_users(self.db.session, caller, organisation_id, query), many=True)

    @rpc
    def deactivate_user(self, caller, user_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return user_schema.dump(accounts.deactivate_user(uow, caller, user_id))

    @rpc
    def set_user_locale(self, caller, user_id, payload):
        caller = load_caller(caller)
        data = load(UserLocaleSchema(), payload)
        with self.db.unit_of_work() as uow:
            return user_schema.dump(accounts.set_locale(uow, caller, user_id, data["locale"]))

    @rpc
    def invite_user(self, caller, user_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return InvitationSchema().dump(invitations.reinvite(uow, caller, user_id))

    @rpc
    def import_users(self, caller, organisation_id, payload, query=None):
        caller = load_caller(caller)
        data = load(CsvImportSchema(), payload)
        query = load(CsvImportQuerySchema(), query or {})
        with self.db.unit_of_work() as uow:
            report = csv_import.import_users(uow, caller, organisation_id, data["csv"],
                                             query["dry_run"])
        return CsvImportReportSchema().dump(report)

    # Policies and profiles ------------------------------------------------------

    @rpc
    def get_policy(self, caller, organisation_id):
        caller = load_caller(caller)
        return policy_schema.dump(policies.get_policy(self.db.session, caller, organisation_id))

    @rpc
    def set_policy(self, caller, organisation_id, payload):
        caller = load_caller(caller)
        data = load(PolicySchema(), payload)
        with self.db.unit_of_work() as uow:
            return policy_schema.dump(policies.set_policy(uow, caller, organisation_id, data))

    @rpc
    def list_groups(self, caller, organisation_id):
        caller = load_caller(caller)
        return group_schema.dump(group_policies.list_groups(self.db.session, caller,
                                                            organisation_id), many=True)

    @rpc
    def get_group_policy(self, caller, organisation_id, group_id):
        caller = load_caller(caller)
        return group_policy_schema.dump(group_policies.get_group_policy(
            self.db.session, caller, organisation_id, group_id))

    @rpc
    def set_group_policy(self, caller, organisation_id, group_id, payload):
        caller = load_caller(caller)
        data = load(GroupPolicySchema(), payload)
        with self.db.unit_of_work() as uow:
            return group_policy_schema.dump(group_policies.set_group_policy(
                uow, caller, organisation_id, group_id, data))

    @rpc
    def delete_group_policy(self, caller, organisation_id, group_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            group_policies.delete_group_policy(uow, caller, organisation_id, group_id)

    # Programmes --------------------------------------------------------------------

    @rpc
    def get_programme(self, caller, organisation_id):
        caller = load_caller(caller)
        return ProgrammeSchema().dump(programmes.get_programme(self.db.session, caller,
                                                               organisation_id))

    @rpc
    def set_programme(self, caller, organisation_id, payload):
        caller = load_caller(caller)
        data = load(ProgrammeSchema(), payload)
        with self.db.unit_of_work() as uow:
            return ProgrammeSchema().dump(programmes.set_programme(uow, caller, organisation_id,
                                                                   data))

    @rpc
    def issue_programme_code(self, caller, organisation_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return ProgrammeCodeSchema().dump(programmes.issue_code(uow, caller, organisation_id))

    @rpc
    def enrol_resident(self, caller, organisation_id, payload):
        caller = load_caller(caller)
        data = load(EnrolmentCreateSchema(), payload)
        with self.db.unit_of_work() as uow:
            return EnrolmentSchema().dump(programmes.enrol(uow, caller, organisation_id,
                                                           data["email"]))

    @rpc
    def list_enrolments(self, caller, organisation_id, query=None):
        caller = load_caller(caller)
        query = load(EnrolmentListQuerySchema(), query or {})
        return EnrolmentSchema().dump(programmes.list_enrolments(
            self.db.session, caller, organisation_id, query), many=True)

    @rpc
    def end_enrolment(self, caller, organisation_id, enrolment_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return EnrolmentSchema().dump(programmes.end_enrolment(uow, caller, organisation_id,
                                                                   enrolment_id))

    @rpc
    def join_programme(self, caller, payload):
        caller = load_caller(caller)
        data = load(JoinProgrammeSchema(), payload)
        with self.db.unit_of_work() as uow:
            return EnrolmentSchema().dump(programmes.join(uow, caller, data["code"]))

    @rpc(callers=("gateway", "booking"))
    def get_profile(self, caller, user_id):
        caller = load_caller(caller)
        return _profile(*profiles.get_profile(self.db.session, caller, user_id))

    @rpc
    def set_profile(self, caller, user_id, payload):
        caller = load_caller(caller)
        data = load(ProfileSchema(), payload)
        with self.db.unit_of_work() as uow:
            return _profile(*profiles.set_profile(uow, caller, user_id, data))

    # API keys and SCIM tokens -------------------------------------------------

    @rpc
    def create_api_key(self, caller, organisation_id, payload):
        return self._create_credential(caller, organisation_id, "api_key",
                                       load(ApiKeyCreateSchema(), payload))

    @rpc
    def list_api_keys(self, caller, organisation_id):
        return self._list_credentials(caller, organisation_id, "api_key")

    @rpc
    def revoke_api_key(self, caller, organisation_id, key_id):
        return self._revoke_credential(caller, organisation_id, "api_key", key_id)

    @rpc
    def create_scim_token(self, caller, organisation_id, payload):
        return self._create_credential(caller, organisation_id, "scim_token",
                                       load(ScimTokenCreateSchema(), payload))

    @rpc
    def list_scim_tokens(self, caller, organisation_id):
        return self._list_credentials(caller, organisation_id, "scim_token")

    @rpc
    def revoke_scim_token(self, caller, organisation_id, token_id):
        return self._revoke_credential(caller, organisation_id, "scim_token", token_id)

    def _create_credential(self, caller, organisation_id, kind, data):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            credential, secret = credentials.create(uow, caller, organisation_id, kind, data)
            return dict(credential_schema.dump(credential), secret=secret)

    def _list_credentials(self, caller, organisation_id, kind):
        caller = load_caller(caller)
        return credential_schema.dump(
            credentials.list_for(self.db.session, caller, organisation_id, kind), many=True)

    def _revoke_credential(self, caller, organisation_id, kind, credential_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return credential_schema.dump(
                credentials.revoke(uow, caller, organisation_id, kind, credential_id))

    # Audit log --------------------------------------------------------------------

    @rpc
    def list_audit_entries(self, caller, organisation_id, query=None):
        caller = load_caller(caller)
        query = load(AuditQuerySchema(), query or {})
        return AuditEntrySchema().dump(audit.entries(
            self.db.session, caller, organisation_id, query.get("action"), query["limit"],
            query["offset"]), many=True)

    # SCIM 2.0 (the gateway's /scim/v2 speaks HTTP; these speak users and groups) --

    @rpc
    def scim_create_user(self, caller, body):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return scim.user_resource(uow.session, scim.create_user(uow, caller, body))

    @rpc
    def scim_get_user(self, caller, user_id):
        caller = load_caller(caller)
        return scim.user_resource(self.db.session, scim.get_user(self.db.session, caller, user_id))

    @rpc
    def scim_list_users(self, caller, filter=None, start_index=1, count=scim.DEFAULT_COUNT):
        caller = load_caller(caller)
        users, total = scim.list_users(self.db.session, caller, filter, start_index, count)
        return scim_protocol.list_response(scim.user_resources(self.db.session, users),
                                           total, start_index)

    @rpc
    def scim_replace_user(self, caller, user_id, body):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return scim.user_resource(uow.session, scim.replace_user(uow, caller, user_id, body))

    @rpc
    def scim_patch_user(self, caller, user_id, body):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return scim.user_resource(uow.session, scim.patch_user(uow, caller, user_id, body))

    @rpc
    def scim_delete_user(self, caller, user_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            scim.delete_user(uow, caller, user_id)

    @rpc
    def scim_create_group(self, caller, body):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return scim.group_resource(uow.session, scim.create_group(uow, caller, body))

    @rpc
    def scim_get_group(self, caller, group_id, members=True):
        caller = load_caller(caller)
        return scim.group_resource(self.db.session,
                                   scim.get_group(self.db.session, caller, group_id), members)

    @rpc
    def scim_list_groups(self, caller, filter=None, start_index=1, count=scim.DEFAULT_COUNT,
                         members=True):
        caller = load_caller(caller)
        groups, total = scim.list_groups(self.db.session, caller, filter, start_index, count)
        return scim_protocol.list_response(
            [scim.group_resource(self.db.session, group, members) for group in groups],
            total, start_index)

    @rpc
    def scim_replace_group(self, caller, group_id, body):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return scim.group_resource(uow.session,
                                       scim.replace_group(uow, caller, group_id, body))

    @rpc
    def scim_patch_group(self, caller, group_id, body):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            return scim.group_resource(uow.session, scim.patch_group(uow, caller, group_id, body))

    @rpc
    def scim_delete_group(self, caller, group_id):
        caller = load_caller(caller)
        with self.db.unit_of_work() as uow:
            scim.delete_group(uow, caller, group_id)


def _profile(user, profile):
    return dict(profile_schema.dump(profile), user_id=user.id,
                organisation_id=user.organisation_id)
