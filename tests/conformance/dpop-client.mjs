// A DPoP client (RFC 9449) built on panva's jose, as a browser or SPA would be: it makes an ES256 key pair, gets a
// DPoP-bound access token from the real oidc-provider (client_credentials with a proof for the token endpoint, §5),
// then prints JSON with the token and proofs for one resource request: the valid ones and every negative case of
// §4.3 the conformance tests send to Gatehouse. Nothing here decides anything; Gatehouse's answers are asserted in
// tests/Gatehouse.Tests/Conformance/DpopConformanceTests.cs.
//
// Usage: node dpop-client.mjs ISSUER RESOURCE SCOPE URL    (URL: the absolute URL the proofs are for, method GET)
import { webcrypto as crypto } from 'node:crypto';
import * as jose from 'jose';

const [issuer, resource, scope, url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node dpop-client.mjs ISSUER RESOURCE SCOPE URL');
  process.exit(2);
}

const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
const jwk = await jose.exportJWK(publicKey);
const now = () => Math.floor(Date.now() / 1000);

async function proof({ htm = 'GET', htu = url, ath, iat = now(), header = {}, claims = {}, key = privateKey, publicJwk = jwk, alg = 'ES256' }) {
  const payload = { jti: crypto.randomUUID(), htm, htu, iat, ...(ath ? { ath } : {}), ...claims };
  return new jose.SignJWT(payload).setProtectedHeader({ typ: 'dpop+jwt', alg, jwk: publicJwk, ...header }).sign(key);
}

// RFC 9449 §5: the token request carries a proof for POST {issuer}/token; a use_dpop_nonce answer is retried once.
const tokenEndpoint = `${issuer}/token`;
async function tokenRequest(nonce) {
  return fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: 'Basic ' + Buffer.from('bench-client:bench-secret').toString('base64'),
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await proof({ htm: 'POST', htu: tokenEndpoint, claims: nonce ? { nonce } : {} }),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }),
  });
}
let response = await tokenRequest();
if (response.status === 400 && response.headers.get('dpop-nonce')) response = await tokenRequest(response.headers.get('dpop-nonce'));
const body = await response.json();
if (response.status !== 200) {
  console.error(`token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
  process.exit(1);
}

const token = body.access_token;
const ath = jose.base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))));
const other = await jose.generateKeyPair('ES256', { extractable: true });
const secret = new TextEncoder().encode('a shared secret of at least 32 bytes!');
const target = new URL(url);

const proofs = {
  valid: await proof({ ath }),
  valid_again: await proof({ ath }),
  // §4.3 step 8: another method.
  wrong_htm: await proof({ htm: 'POST', ath }),
  // §4.3 step 9: another URI (path), and another origin.
  wrong_htu: await proof({ htu: `${target.origin}/api/other`, ath }),
  wrong_origin: await proof({ htu: `https://evil.example${target.pathname}`, ath }),
  // §4.3 step 11: created ten minutes ago.
  stale_iat: await proof({ ath, iat: now() - 600 }),
  // §4.3 step 12: no ath, and the ath of another token.
  missing_ath: await proof({}),
  wrong_ath: await proof({ ath: jose.base64url.encode(new Uint8Array(32)) }),
  // §4.3 step 7: the jwk header carries the private key.
  private_jwk: await proof({ ath, publicJwk: await jose.exportJWK(privateKey) }),
  // §4.3 step 5: a symmetric algorithm (HMAC) with an oct key in the header.
  symmetric_alg: await proof({ ath, alg: 'HS256', key: secret, publicJwk: { kty: 'oct', k: jose.base64url.encode(secret) } }),
  // §4.3 step 4: typ JWT instead of dpop+jwt.
  bad_typ: await proof({ ath, header: { typ: 'JWT' } }),
  // §4.3 step 12 / §7.1: a valid proof by another key (a thief's): its thumbprint is not the token's cnf.jkt.
  thumbprint_mismatch: await proof({ ath, key: other.privateKey, publicJwk: await jose.exportJWK(other.publicKey) }),
  // §4.3 step 6: signed by another key than the one in the header.
  bad_signature: await proof({ ath, key: other.privateKey }),
};

console.log(JSON.stringify({
  token,
  token_type: body.token_type,
  jkt: await jose.calculateJwkThumbprint(jwk, 'sha256'),
  proofs,
}));
