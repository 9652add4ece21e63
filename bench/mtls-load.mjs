// mTLS load for bench/run.sh: wrk and h2load cannot present a client certificate, autocannon's API can
// (peers README §4). One JSON line on stdout: req/s, p50/p99 (ms), non-2xx, errors, total.
//   node mtls-load.mjs <url> <seconds> <connections> <reconnect every N requests, 0 = keep-alive> <pki dir> [bearer token]
// <pki dir> holds client.pem, client_key.pem (the client's certificate and key) and bundle.pem (the CA); autocannon
// resolves from $AUTOCANNON_DIR (the peers kit's node/). Bounded: autocannon stops after <seconds>, and a timer ends
// the process 30 s later whatever happens. Note: a reconnect is a full TLS 1.3 handshake with the client certificate
// (node keeps no session ticket between autocannon's sockets), the cost a "new connection per 100 requests" row measures.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [url, secs, conns, reconnect, pki, token] = process.argv.slice(2);
if (!url || !secs || !conns || reconnect === undefined || !pki) {
  console.error('usage: mtls-load.mjs <url> <seconds> <connections> <reconnectRate> <pki dir> [token]');
  process.exit(2);
}
const require = createRequire(join(process.env.AUTOCANNON_DIR ?? '.', 'package.json'));
const autocannon = require('autocannon');
setTimeout(() => { console.error('mtls-load: watchdog'); process.exit(3); }, (Number(secs) + 30) * 1000).unref();
const r = await autocannon({
  url,
  duration: Number(secs),
  connections: Number(conns),
  reconnectRate: Number(reconnect),
  headers: token ? { authorization: `Bearer ${token}` } : {},
  tlsOptions: {
    cert: readFileSync(join(pki, 'client.pem')),
    key: readFileSync(join(pki, 'client_key.pem')),
    ca: readFileSync(join(pki, 'bundle.pem')),
    minVersion: 'TLSv1.3',
  },
});
console.log(JSON.stringify({
  url, reconnect: Number(reconnect), rps: r.requests.average, p50_ms: r.latency.p50, p99_ms: r.latency.p99,
  non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, total: r.requests.total,
}));
