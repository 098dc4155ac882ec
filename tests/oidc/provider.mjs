// A certified OpenID Provider (panva's oidc-provider) for the single sign-on
// tests, on loopback. Started and stopped by tests/e2e/test_sso.py:
//   node tests/oidc/provider.mjs CONFIG.json
// CONFIG.json: {"port", "issuer", "clients": [...], "jwks": {"keys": [private JWKs]},
//               "accounts": {"<sub>": {"email", "email_verified"}}}
// No login form: the person "types their password" by the login_hint Relais
// sends (their e-mail), and consents at once. Everything else (PKCE, codes
// used once, ID tokens signed with the configured keys) is the real provider's.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  pkce: { required: () => true },
  // The e-mail in the ID token itself, as Okta gives it and Entra ID with its
  // optional claim "email": Relais reads no userinfo endpoint.
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: (ctx, id) => (config.accounts[id]
    ? { accountId: id, claims: () => ({ sub: id, ...config.accounts[id] }) }
    : undefined),
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match) {
    await next();
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const accountId = Object.keys(config.accounts)
    .find((id) => config.accounts[id].email === details.params.login_hint);
  let result;
  if (!accountId) {
    result = { error: 'access_denied', error_description: 'unknown account' };
  } else {
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    result = { login: { accountId }, consent: { grantId: await grant.save() } };
  }
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result,
    { mergeWithLastSubmission: false }));
});

provider.listen(config.port, '127.0.0.1', () => console.log(`listening on ${config.issuer}`));
