// Key rotation for bench/soak.sh: writes a new key generation (kids rs-<gen>, ec-<gen>) into <outdir> in the layout
// the peers kit expects (jwks.private.json, jwks.json, rs256/es256 .key.pem/.pub.pem). The JWKS also carries the
// previous generation's keys (read from <prevdir>, if given) after the new ones, as an IdP does during a rotation:
// the IdP signs with the first key of each type, and tokens from the previous key stay verifiable.
// usage: node rotate-keys.mjs <outdir> <gen> [prevdir]
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';

const [out, gen, prev] = process.argv.slice(2);
if (!out || !gen) { console.error('usage: rotate-keys.mjs <outdir> <gen> [prevdir]'); process.exit(2); }
mkdirSync(out, { recursive: true });
const rs = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = (k, kid, alg) => ({ ...k.export({ format: 'jwk' }), kid, alg, use: 'sig' });
const priv = [jwk(rs.privateKey, `rs-${gen}`, 'RS256'), jwk(ec.privateKey, `ec-${gen}`, 'ES256')];
const pub = [jwk(rs.publicKey, `rs-${gen}`, 'RS256'), jwk(ec.publicKey, `ec-${gen}`, 'ES256')];
if (prev && existsSync(`${prev}/jwks.private.json`)) {
  const old = JSON.parse(readFileSync(`${prev}/jwks.private.json`, 'utf8')).keys.slice(0, 2);
  priv.push(...old);
  pub.push(...old.map(({ d, p, q, dp, dq, qi, ...rest }) => rest));
}
writeFileSync(`${out}/jwks.private.json`, JSON.stringify({ keys: priv }, null, 2));
writeFileSync(`${out}/jwks.json`, JSON.stringify({ keys: pub }, null, 2));
writeFileSync(`${out}/rs256.key.pem`, rs.privateKey.export({ format: 'pem', type: 'pkcs8' }));
writeFileSync(`${out}/rs256.pub.pem`, rs.publicKey.export({ format: 'pem', type: 'spki' }));
writeFileSync(`${out}/es256.key.pem`, ec.privateKey.export({ format: 'pem', type: 'pkcs8' }));
writeFileSync(`${out}/es256.pub.pem`, ec.publicKey.export({ format: 'pem', type: 'spki' }));
