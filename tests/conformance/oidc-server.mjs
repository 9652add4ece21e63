// Real OAuth 2.0 authorization server for the conformance tests (tests/Gatehouse.Tests/Conformance), built on panva's
// oidc-provider. Adapted from the peers kit (../shared/peers/node/oidc-server.mjs): keys and port come from the
// environment only (nothing outside this repository is read), no HTTPS listener, an explicit signing kid per
// algorithm, a second introspecting client using client_secret_post (rs-introspector-post/rs-secret),
// machine-readable start/failure lines, and an orphan guard (EXIT_ON_STDIN_CLOSE=1: exits when its stdin closes).
//
// Endpoints (ISSUER = http://HOST:PORT):
// - discovery:     GET  {ISSUER}/.well-known/openid-configuration
// - JWKS:          GET  {ISSUER}/jwks
// - token:         POST {ISSUER}/token                 (client_credentials, RFC 8707 resource indicators; with a
//                                                      DPoP header, a DPoP-bound token: RFC 9449 §5)
// - introspection: POST {ISSUER}/token/introspection   (RFC 7662; opaque tokens only)
// - revocation:    POST {ISSUER}/token/revocation      (RFC 7009)
// Resource indicator -> access token: https://api.example.test -> JWT RS256, https://api-es.example.test -> JWT ES256,
// https://api-opaque.example.test -> opaque, anything else -> invalid_target.
//
// Usage: KEYS=<dir>/jwks.private.json PORT=<port> [HOST=127.0.0.1] [ISSUER=...] [EXIT_ON_STDIN_CLOSE=1] node oidc-server.mjs
// The first RS256 key and the first ES256 key of KEYS sign; every key of KEYS is published in the JWKS (so a
// rotation can publish the previous keys beside the new ones: see gen-keys.mjs --also-publish).
import { readFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';

function fail(code, message) {
  console.log(`FAILED ${code} ${message}`);
  process.exit(code === 'EADDRINUSE' ? 98 : 1);
}

const HOST = process.env.HOST ?? '127.0.0.1';
const PORT = Number(process.env.PORT);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) fail('CONFIG', 'PORT must be set to a TCP port');
const ISSUER = process.env.ISSUER ?? `http://${HOST}:${PORT}`;
if (!process.env.KEYS) fail('CONFIG', 'KEYS must be set to a jwks.private.json');
const jwks = JSON.parse(readFileSync(process.env.KEYS, 'utf8'));
const signingKid = (alg) => {
  const key = jwks.keys.find((k) => k.alg === alg);
  if (!key) fail('CONFIG', `no ${alg} key in ${process.env.KEYS}`);
  return key.kid;
};

const RESOURCES = {
  'https://api.example.test':        { scope: 'read write admin', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256', kid: signingKid('RS256') } } },
  'https://api-es.example.test':     { scope: 'read write admin', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256', kid: signingKid('ES256') } } },
  'https://api-opaque.example.test': { scope: 'read write admin', accessTokenFormat: 'opaque' },
};

const configuration = {
  jwks,
  clients: [
    { // the workload that asks for tokens
      client_id: 'bench-client',
      client_secret: 'bench-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'read write admin',
    },
    { // the resource server / proxy that introspects tokens (RFC 7662 caller)
      client_id: 'rs-introspector',
      client_secret: 'rs-secret',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    { // the same role, authenticating with client_secret_post (RFC 6749 §2.3.1 body parameters)
      client_id: 'rs-introspector-post',
      client_secret: 'rs-secret',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  scopes: ['read', 'write', 'admin'],
  ttl: { ClientCredentials: 3600 },
  cookies: { keys: ['conformance-test-cookie-key'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    // RFC 9449: a token request with a DPoP proof gets a DPoP-bound access token (cnf.jkt); without one, a bearer token.
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf ?? 'https://api.example.test',
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resourceIndicator, client) => {
        const rs = RESOURCES[resourceIndicator];
        if (!rs) throw new errors.InvalidTarget();
        return { ...rs, audience: resourceIndicator, accessTokenTTL: 3600 };
      },
    },
  },
};

const provider = new Provider(ISSUER, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));

// oidc-provider accepts either client authentication method from any client. For the introspection endpoint this
// server enforces the registered one, so a test can prove which method the resource server used.
const STRICT_METHOD = { 'rs-introspector': 'client_secret_basic', 'rs-introspector-post': 'client_secret_post' };
provider.use(async (ctx, next) => {
  await next();
  if (ctx.method !== 'POST' || ctx.oidc?.route !== 'introspection') return;
  const clientId = ctx.oidc?.client?.clientId;
  const expected = STRICT_METHOD[clientId];
  if (!expected) return;
  const used = /^basic /i.test(ctx.get('authorization')) ? 'client_secret_basic' : 'client_secret_post';
  if (used !== expected) {
    ctx.status = 401;
    ctx.body = { error: 'invalid_client', error_description: `${clientId} must authenticate with ${expected}, not ${used}` };
  }
});
const server = provider.listen(PORT, HOST, () => console.log(`LISTENING ${ISSUER} pid=${process.pid}`));
server.on('error', (err) => fail(err.code ?? 'LISTEN', err.message));

// Orphan guard (EXIT_ON_STDIN_CLOSE=1, set by the test fixture): the fixture holds our stdin open; when it goes away
// (even killed), so do we.
if (process.env.EXIT_ON_STDIN_CLOSE === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
process.on('SIGTERM', () => process.exit(0));
