// Generates signing keys for oidc-server.mjs (RS256 + ES256). Adapted from the peers kit
// (../shared/peers/node/gen-keys.mjs): the output folder is required (nothing is written outside it), kids are
// configurable for rotation tests, and previous keys can be kept in the published set.
//
// Usage: node gen-keys.mjs <outdir> [--rs-kid rs-1] [--ec-kid ec-1] [--also-publish <previous jwks.private.json>]
// Writes <outdir>/jwks.private.json (new keys first: they sign; --also-publish keys follow: they are only published),
// <outdir>/jwks.json (public), and PEM pairs rs256.{pub,key}.pem, es256.{pub,key}.pem of the new keys.
import { generateKeyPair, exportJWK, exportSPKI, exportPKCS8 } from 'jose';
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'rs-kid': { type: 'string', default: 'rs-1' },
    'ec-kid': { type: 'string', default: 'ec-1' },
    'also-publish': { type: 'string' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node gen-keys.mjs <outdir> [--rs-kid K] [--ec-kid K] [--also-publish jwks.private.json]');
  process.exit(2);
}
const out = positionals[0];
mkdirSync(out, { recursive: true });

const specs = [
  { alg: 'RS256', kid: values['rs-kid'], opts: { modulusLength: 2048 } },
  { alg: 'ES256', kid: values['ec-kid'], opts: {} },
];
const priv = { keys: [] }, pub = { keys: [] };
for (const { alg, kid, opts } of specs) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { ...opts, extractable: true });
  priv.keys.push({ ...(await exportJWK(privateKey)), kid, alg, use: 'sig' });
  pub.keys.push({ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' });
  const base = alg.toLowerCase();
  writeFileSync(`${out}/${base}.pub.pem`, await exportSPKI(publicKey));
  writeFileSync(`${out}/${base}.key.pem`, await exportPKCS8(privateKey), { mode: 0o600 });
}
if (values['also-publish']) {
  const previous = JSON.parse(readFileSync(values['also-publish'], 'utf8'));
  for (const key of previous.keys) {
    if (priv.keys.some((k) => k.kid === key.kid)) continue; // a new key with the same kid replaces the old one
    priv.keys.push(key);
    const { d, p, q, dp, dq, qi, ...publicPart } = key;
    pub.keys.push(publicPart);
  }
}
writeFileSync(`${out}/jwks.private.json`, JSON.stringify(priv, null, 2), { mode: 0o600 });
writeFileSync(`${out}/jwks.json`, JSON.stringify(pub, null, 2));
console.log('wrote', out);
