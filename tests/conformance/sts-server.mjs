// A real OAuth 2.0 authorization server acting as a security token service (STS) for the outbound token tests
// (tests/Gatehouse.Tests/Outbound): panva's oidc-provider with its own client_credentials grant (RFC 6749 §4.4,
// RFC 8707 resource indicators, JWT access tokens) and an RFC 8693 token-exchange grant registered through
// oidc-provider's grant-type API (provider.registerGrantType). Client authentication is oidc-provider's own:
// client_secret_basic, client_secret_post, private_key_jwt (RFC 7523) and, on the optional HTTPS listener,
// tls_client_auth (RFC 8705 §2.1.2, tls_client_auth_san_uri: a SPIFFE ID in the client certificate's URI SAN).
//
// Usage: CONFIG=<file.json> [EXIT_ON_STDIN_CLOSE=1] node sts-server.mjs
// CONFIG (written by the test fixture):
// {
//   "host": "127.0.0.1", "port": 41234, "issuer": "http://127.0.0.1:41234", "keys": "<dir>/jwks.private.json",
//   "tls": { "port": 41235, "cert": "server.pem", "key": "server.key", "clientCa": "peer-ca.pem" },   // optional
//   "resources": { "https://payments.west.example/": { "audience": "payments", "scope": "payments.charge payments.read" } },
//   "exchangeTtl": 300,
//   "subjectIssuers": [ { "issuer": "http://127.0.0.1:40000", "jwksUri": "http://127.0.0.1:40000/jwks" } ],
//   "clients": [ { "client_id": "...", "token_endpoint_auth_method": "...", "client_secret": "...", "jwks": {...},
//                  "tls_client_auth_san_uri": "spiffe://...", "scope": "...",
//                  "exchange": { "audiences": ["payments"], "actorSub": "optional override of act.sub" } } ]
// }
// Token exchange (RFC 8693 §2.1): subject_token must be a JWT signed by this server or by a subjectIssuers entry
// (else invalid_grant); audience (or a resource's audience) must be one the client may exchange for (else
// invalid_target); scope must be within that audience's scope (else invalid_scope); an actor_token must be this
// server's client-credentials token issued to the same client (else invalid_grant). The issued JWT access token
// (typ at+jwt) carries sub of the subject, aud, scope, client_id and, with an actor token, act (RFC 8693 §4.1) naming
// the client (its SPIFFE ID when it authenticates with one), nesting any act of the subject token. Its exp never
// exceeds the subject token's.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { X509Certificate, randomUUID } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import { SignJWT, createLocalJWKSet, createRemoteJWKSet, importJWK, jwtVerify } from 'jose';

function fail(code, message) {
  console.log(`FAILED ${code} ${message}`);
  process.exit(code === 'EADDRINUSE' ? 98 : 1);
}

if (!process.env.CONFIG) fail('CONFIG', 'CONFIG must name the JSON configuration file');
const config = JSON.parse(readFileSync(process.env.CONFIG, 'utf8'));
const HOST = config.host ?? '127.0.0.1';
const ISSUER = config.issuer ?? `http://${HOST}:${config.port}`;
const jwks = JSON.parse(readFileSync(config.keys, 'utf8'));
const rsKey = jwks.keys.find((k) => k.alg === 'RS256');
if (!rsKey) fail('CONFIG', 'no RS256 key in keys');
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

const resources = config.resources ?? {};
const allScopes = new Set();
for (const r of Object.values(resources)) for (const s of (r.scope ?? '').split(' ').filter(Boolean)) allScopes.add(s);
for (const c of config.clients ?? []) for (const s of (c.scope ?? '').split(' ').filter(Boolean)) allScopes.add(s);

// Client metadata for oidc-provider (the "exchange" policy is this server's own, kept aside).
const policies = new Map();
const clients = (config.clients ?? []).map((c) => {
  const { exchange, ...metadata } = c;
  policies.set(c.client_id, exchange ?? { audiences: [] });
  return {
    grant_types: ['client_credentials', EXCHANGE],
    response_types: [],
    redirect_uris: [],
    ...metadata,
  };
});

const provider = new Provider(ISSUER, {
  jwks,
  clients,
  scopes: [...allScopes],
  ttl: { ClientCredentials: config.clientCredentialsTtl ?? 3600 },
  cookies: { keys: ['sts-test-cookie-key'] },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'tls_client_auth'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      // Without a resource, a client-credentials token is for this server itself: the actor token of an exchange.
      defaultResource: async (ctx, client, oneOf) => oneOf ?? ISSUER,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => {
        if (indicator === ISSUER) {
          return { audience: ISSUER, scope: '', accessTokenFormat: 'jwt', accessTokenTTL: config.clientCredentialsTtl ?? 3600, jwt: { sign: { alg: 'RS256', kid: rsKey.kid } } };
        }
        const r = resources[indicator];
        if (!r) throw new errors.InvalidTarget();
        return { audience: r.audience ?? indicator, scope: r.scope ?? '', accessTokenFormat: 'jwt', accessTokenTTL: config.clientCredentialsTtl ?? 3600, jwt: { sign: { alg: 'RS256', kid: rsKey.kid } } };
      },
    },
    mTLS: {
      enabled: true,
      tlsClientAuth: true,
      getCertificate(ctx) {
        const peer = ctx.socket?.getPeerCertificate?.(false);
        return peer?.raw ? new X509Certificate(peer.raw) : undefined;
      },
      certificateAuthorized(ctx) {
        return ctx.socket?.authorized === true;
      },
      certificateSubjectMatches(ctx, property, expected) {
        const peer = ctx.socket?.getPeerCertificate?.(false);
        if (!peer?.raw || property !== 'tls_client_auth_san_uri') return false;
        const names = (new X509Certificate(peer.raw).subjectAltName ?? '').split(', ');
        return names.includes(`URI:${expected}`);
      },
    },
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const ownKeys = createLocalJWKSet({ keys: jwks.keys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub) });
const subjectIssuers = new Map((config.subjectIssuers ?? []).map((s) => [s.issuer, createRemoteJWKSet(new URL(s.jwksUri))]));
const signingKey = await importJWK(rsKey, 'RS256');

function unverifiedIssuer(token) {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')).iss;
  } catch {
    return undefined;
  }
}

async function verifySubject(token) {
  const iss = unverifiedIssuer(token);
  const keys = iss === ISSUER ? ownKeys : subjectIssuers.get(iss);
  if (!keys) throw new errors.InvalidGrant('subject_token issuer is not trusted');
  try {
    const { payload } = await jwtVerify(token, keys, { issuer: iss, algorithms: ['RS256', 'ES256', 'PS256'] });
    return payload;
  } catch (err) {
    throw new errors.InvalidGrant(`subject_token is not valid (${err.code ?? 'invalid'})`);
  }
}

// RFC 8693 §2.1 request → §2.2.1 response, or an RFC 6749 §5.2 error.
async function tokenExchange(ctx) {
  const { params, client } = ctx.oidc;
  if (!params.subject_token) throw new errors.InvalidRequest('missing subject_token');
  if (params.subject_token_type !== ACCESS && params.subject_token_type !== JWT_TYPE) {
    throw new errors.InvalidRequest('unsupported subject_token_type');
  }
  if (params.requested_token_type && params.requested_token_type !== ACCESS) {
    throw new errors.InvalidRequest('only access tokens can be requested');
  }
  const subject = await verifySubject(params.subject_token);

  let actor;
  if (params.actor_token) {
    if (params.actor_token_type !== ACCESS) throw new errors.InvalidRequest('unsupported actor_token_type');
    try {
      ({ payload: actor } = await jwtVerify(params.actor_token, ownKeys, { issuer: ISSUER, audience: ISSUER }));
    } catch (err) {
      throw new errors.InvalidGrant(`actor_token is not valid (${err.code ?? 'invalid'})`);
    }
    if (actor.client_id !== client.clientId) throw new errors.InvalidGrant('actor_token was not issued to this client');
  }

  const policy = policies.get(client.clientId) ?? { audiences: [] };
  let audience = params.audience;
  if (!audience && params.resource) audience = resources[params.resource]?.audience;
  if (!audience || !policy.audiences.includes(audience)) {
    throw new errors.InvalidTarget(`client may not exchange tokens for audience ${audience ?? '(none)'}`);
  }
  const audienceScope = new Set(Object.values(resources).filter((r) => r.audience === audience).flatMap((r) => (r.scope ?? '').split(' ').filter(Boolean)));
  const requested = (params.scope ?? '').split(' ').filter(Boolean);
  if (requested.some((s) => !audienceScope.has(s))) throw new errors.InvalidScope('requested scope is not available for this audience');

  const now = Math.floor(Date.now() / 1000);
  const exp = Math.min(subject.exp ?? now + 60, now + (config.exchangeTtl ?? 300));
  const claims = {
    sub: subject.sub,
    client_id: client.clientId,
    scope: requested.join(' ') || undefined,
    jti: randomUUID(),
  };
  if (actor) {
    const act = { sub: policy.actorSub ?? client.tlsClientAuthSanUri ?? client.clientId };
    if (subject.act) act.act = subject.act; // RFC 8693 §4.1: prior actors nest inside the current one
    claims.act = act;
  }
  const accessToken = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: rsKey.kid, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(signingKey);

  ctx.body = {
    access_token: accessToken,
    issued_token_type: ACCESS,
    token_type: 'Bearer',
    expires_in: exp - now,
    scope: claims.scope,
  };
}

provider.registerGrantType(
  EXCHANGE,
  tokenExchange,
  ['audience', 'resource', 'scope', 'requested_token_type', 'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type'],
  ['audience', 'resource'],
);

const server = provider.listen(config.port, HOST, () => console.log(`LISTENING ${ISSUER} pid=${process.pid}`));
server.on('error', (err) => fail(err.code ?? 'LISTEN', err.message));
if (config.tls) {
  const tls = createServer({
    cert: readFileSync(config.tls.cert),
    key: readFileSync(config.tls.key),
    ca: config.tls.clientCa ? readFileSync(config.tls.clientCa) : undefined,
    requestCert: true,
    rejectUnauthorized: false, // oidc-provider decides (certificateAuthorized) so a bad certificate is an OAuth error
  }, provider.callback());
  tls.listen(config.tls.port, HOST, () => console.log(`LISTENING-TLS https://${HOST}:${config.tls.port}`));
  tls.on('error', (err) => fail(err.code ?? 'LISTEN', err.message));
}

if (process.env.EXIT_ON_STDIN_CLOSE === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
process.on('SIGTERM', () => process.exit(0));
