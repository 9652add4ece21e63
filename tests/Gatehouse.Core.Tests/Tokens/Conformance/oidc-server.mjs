// A real OpenID provider (panva/oidc-provider) for Gatehouse's token-engine conformance tests.
// client_credentials; JWT access tokens (RS256 / ES256, by resource indicator, RFC 8707) and opaque tokens;
// discovery, JWKS, RFC 7662 introspection, RFC 7009 revocation.
// env: PORT (required), KEYS (path of a private JWKS; the test generates it, with fresh keys per run).
import { readFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const resources = {
  'https://api.example.test': { scope: 'read write', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } },
  'https://api-es.example.test': { scope: 'read write', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } },
  'https://api-opaque.example.test': { scope: 'read write', accessTokenFormat: 'opaque' },
};

const provider = new Provider(issuer, {
  jwks: JSON.parse(readFileSync(process.env.KEYS, 'utf8')),
  clients: [
    { client_id: 'workload', client_secret: 'workload-secret', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', scope: 'read write' },
    { client_id: 'gatehouse', client_secret: 'gatehouse secret:+%', grant_types: [], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' },
  ],
  scopes: ['read', 'write'],
  cookies: { keys: ['conformance-only'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf ?? 'https://api.example.test',
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resource) => {
        const rs = resources[resource];
        if (!rs) throw new errors.InvalidTarget();
        return { ...rs, audience: resource, accessTokenTTL: 3600 };
      },
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
