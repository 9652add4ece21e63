// Mints N distinct, valid access tokens (one per line) fast, with node:crypto only (no npm packages).
// Same shape as oidc-provider's client_credentials tokens, so HAProxy's and Gatehouse's checks both pass:
//   header {alg, typ: at+jwt, kid}; payload {jti, sub, client_id, iss, aud, scope, iat, nbf, exp}.
// usage: node mint-tokens.mjs <RS256|ES256> <kid> <private key PEM> <count> [iss] [aud] [ttl seconds] [worker index] [workers]
import { createPrivateKey, sign, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [alg, kid, keyFile, countArg, iss = 'http://127.0.0.1:4000', aud = 'https://api.example.test',
  ttlArg = '3600', workerArg = '0', workersArg = '1'] = process.argv.slice(2);
if (!alg || !kid || !keyFile || !countArg) {
  console.error('usage: mint-tokens.mjs <RS256|ES256> <kid> <key.pem> <count> [iss] [aud] [ttl] [worker] [workers]');
  process.exit(2);
}
const key = createPrivateKey(readFileSync(keyFile, 'utf8'));
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const header = b64({ alg, typ: 'at+jwt', kid });
const now = Math.floor(Date.now() / 1000);
const count = Number(countArg), worker = Number(workerArg), workers = Number(workersArg);
const out = [];
for (let i = worker; i < count; i += workers) {
  const payload = b64({
    jti: randomBytes(12).toString('base64url'), sub: 'bench-client', client_id: 'bench-client',
    iss, aud, scope: 'read write', iat: now, nbf: now - 5, exp: now + Number(ttlArg),
  });
  const input = `${header}.${payload}`;
  const sig = alg === 'RS256'
    ? sign('sha256', Buffer.from(input), key)
    : sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  out.push(`${input}.${sig.toString('base64url')}`);
  if (out.length >= 1000) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
}
if (out.length) process.stdout.write(out.join('\n') + '\n');
