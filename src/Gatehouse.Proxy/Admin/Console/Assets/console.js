// Gatehouse console: read-only views over the admin listener's /ui/api. No framework, no external resource
// (the page must work in an air-gapped cluster); text is always set with textContent, never parsed as HTML.
'use strict';

const $ = (selector, root = document) => root.querySelector(selector);
const SVG = 'http://www.w3.org/2000/svg';

function el(tag, attributes = {}, ...children) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (name === 'class') node.setAttribute('class', value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: 'same-origin', ...options });
  if (response.status === 401) {
    $('#login').hidden = false;
    throw new Error('the console secret is needed');
  }
  return response;
}

function setStatus(text) { $('#status').textContent = text; }
function time(iso) { return iso ? new Date(iso).toLocaleTimeString() : ''; }
function caller(record) {
  if (record.workload) return record.workload;
  if (record.client_id) return `${record.client_id} (${record.issuer_name || record.issuer || '?'})`;
  if (record.subject) return `${record.subject} (${record.issuer_name || record.issuer || '?'})`;
  return `anonymous via ${record.listener || '?'}`;
}

// ---- views ---------------------------------------------------------------------------------------------------
const views = {};
function show(name) {
  for (const button of document.querySelectorAll('nav button')) button.classList.toggle('active', button.dataset.view === name);
  for (const section of document.querySelectorAll('.view')) section.classList.toggle('active', section.id === `view-${name}`);
  if (views[name]) views[name]();
}

// ---- service graph -------------------------------------------------------------------------------------------
async function loadGraph() {
  const minutes = $('#graph-minutes').value;
  const graph = await (await api(`/ui/api/graph?minutes=${encodeURIComponent(minutes)}`)).json();
  drawGraph(graph);
  setStatus(`${graph.decisions} decisions in the last ${minutes} min`);
}

function drawGraph(graph) {
  const svg = $('#graph');
  svg.replaceChildren();
  const callers = graph.nodes.filter(n => n.kind !== 'route');
  const routes = graph.nodes.filter(n => n.kind === 'route');
  const rowHeight = 46, nodeWidth = 300, nodeHeight = 30, left = 20, gap = 260;
  const height = Math.max(callers.length, routes.length, 1) * rowHeight + 40;
  const width = left * 2 + nodeWidth * 2 + gap;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.style.height = `${Math.max(height, 384)}px`;
  const position = new Map();
  callers.forEach((n, i) => position.set(n.id, { x: left, y: 20 + i * rowHeight }));
  routes.forEach((n, i) => position.set(n.id, { x: left + nodeWidth + gap, y: 20 + i * rowHeight }));
  if (graph.edges.length === 0) {
    svg.append(el('svg:text', { x: 20, y: 30, class: 'muted' }, 'No calls in this window yet.'));
  }
  const maxCount = Math.max(1, ...graph.edges.map(e => e.allowed + e.denied));
  for (const edge of graph.edges) {
    const a = position.get(edge.from), b = position.get(edge.to);
    const x1 = a.x + nodeWidth, y1 = a.y + nodeHeight / 2, x2 = b.x, y2 = b.y + nodeHeight / 2;
    const total = edge.allowed + edge.denied;
    const kind = edge.denied === 0 ? 'ok' : edge.allowed === 0 ? 'denied' : 'mixed';
    const reasons = edge.top_reasons.map(r => `${r.reason} ×${r.count}`).join(', ');
    const group = el('svg:g', {
      class: `edge ${kind}`, 'data-from': edge.from, 'data-to': edge.to,
      'data-allowed': edge.allowed, 'data-denied': edge.denied,
      onclick: () => selectEdge(group, edge, graph),
    },
      el('svg:title', {}, `${edge.from} → ${edge.to}: ${edge.allowed} allowed, ${edge.denied} denied${reasons ? ` (${reasons})` : ''}`),
      el('svg:path', { d: `M${x1},${y1} C${x1 + gap / 2},${y1} ${x2 - gap / 2},${y2} ${x2},${y2}`, 'stroke-width': 1.5 + 6 * Math.sqrt(total / maxCount) }),
      el('svg:text', { x: (x1 + x2) / 2 - 30, y: (y1 + y2) / 2 - 6 }, `✓${edge.allowed} ✗${edge.denied}`));
    svg.append(group);
  }
  for (const node of graph.nodes) {
    const p = position.get(node.id);
    const label = node.label.length > 44 ? `${node.label.slice(0, 20)}…${node.label.slice(-22)}` : node.label;
    svg.append(el('svg:g', { class: `node ${node.kind}`, 'data-id': node.id, transform: `translate(${p.x},${p.y})` },
      el('svg:title', {}, `${node.kind}: ${node.label}`),
      el('svg:rect', { width: nodeWidth, height: nodeHeight }),
      el('svg:text', { x: 8, y: 19 }, label)));
  }
}

function selectEdge(group, edge, graph) {
  for (const g of document.querySelectorAll('#graph .edge.selected')) g.classList.remove('selected');
  group.classList.add('selected');
  const label = id => (graph.nodes.find(n => n.id === id) || { label: id }).label;
  const detail = $('#graph-detail');
  detail.replaceChildren(
    el('h3', {}, `${label(edge.from)} → ${label(edge.to)}`),
    el('p', {}, el('span', { class: 'good' }, `${edge.allowed} allowed`), ', ', el('span', { class: edge.denied ? 'bad' : 'muted' }, `${edge.denied} denied`)),
    edge.top_reasons.length ? el('h4', {}, 'Top denial reasons') : null,
    edge.top_reasons.length ? el('ul', {}, edge.top_reasons.map(r => el('li', {}, el('code', {}, r.reason), ` ×${r.count}`))) : null,
    edge.recent_denied_traces.length ? el('h4', {}, 'Recent denied calls (click for the chain)') : null,
    edge.recent_denied_traces.length ? el('ul', { class: 'traces' }, edge.recent_denied_traces.map(t =>
      el('li', {}, el('a', { href: '#', class: 'mono chain-link', 'data-trace': t, onclick: e => { e.preventDefault(); showChain(t); } }, t)))) : null);
}

async function showChain(trace) {
  const records = await (await api(`/ui/api/chain?trace=${encodeURIComponent(trace)}`)).json();
  const body = $('#chain-body');
  body.replaceChildren(
    el('p', {}, 'Trace ', el('code', {}, trace), `: ${records.length} decision(s) seen by this Gatehouse, in order.`),
    el('table', { id: 'chain-table' },
      el('thead', {}, el('tr', {}, ['time', 'decision', 'listener', 'route', 'caller', 'request', 'reasons'].map(h => el('th', {}, h)))),
      el('tbody', {}, records.map(r => el('tr', { class: r.decision },
        el('td', {}, time(r.time)), el('td', {}, r.decision), el('td', {}, r.listener || ''), el('td', {}, r.route || ''),
        el('td', {}, caller(r)), el('td', { class: 'mono' }, `${r.method} ${r.host}${r.path}`), el('td', { class: 'mono' }, (r.reasons || []).join(', ')))))));
  $('#chain').hidden = false;
}

// ---- live decisions ------------------------------------------------------------------------------------------
let stream = null, paused = false, shown = 0;
const maxRows = 500;

function liveQuery() {
  const form = new FormData($('#live-filters'));
  const query = new URLSearchParams();
  for (const [name, value] of form) if (value) query.set(name, value);
  return query.toString();
}

function addRow(record, prepend) {
  const tbody = $('#live-table tbody');
  const row = el('tr', { class: `decision ${record.decision}`, 'data-decision': record.decision, 'data-route': record.route || '', 'data-trace': record.trace_id || '' },
    el('td', {}, time(record.time)), el('td', {}, record.decision), el('td', {}, record.status), el('td', {}, record.route || ''),
    el('td', {}, caller(record)), el('td', {}, record.subject || ''), el('td', { class: 'mono' }, `${record.method} ${record.host}${record.path}`),
    el('td', { class: 'mono' }, (record.reasons || []).join(', ')),
    el('td', {}, el('a', { href: '#', class: 'explain-link', onclick: e => { e.preventDefault(); explainFrom(record); } }, 'explain'),
      record.trace_id ? [' · ', el('a', { href: '#', onclick: e => { e.preventDefault(); showChain(record.trace_id); } }, 'chain')] : null));
  if (prepend) tbody.prepend(row); else tbody.append(row);
  while (tbody.rows.length > maxRows) tbody.deleteRow(tbody.rows.length - 1);
  shown++;
  $('#live-count').textContent = `${tbody.rows.length} shown`;
}

async function startLive() {
  if (stream) stream.close();
  $('#live-table tbody').replaceChildren();
  const query = liveQuery();
  const recent = await (await api(`/ui/api/decisions?limit=100&${query}`)).json();
  for (const record of recent) addRow(record, false);
  stream = new EventSource(`/ui/api/stream?${query}`);
  stream.addEventListener('decision', event => { if (!paused) addRow(JSON.parse(event.data), true); });
  stream.onerror = () => setStatus('live stream reconnecting…');
  stream.onopen = () => setStatus('live');
}

function explainFrom(record) {
  const form = $('#explain-form');
  form.method.value = record.method;
  form.url.value = `https://${record.host}${record.path}${record.query || ''}`;
  form.peer.value = record.workload || '';
  form.listener.value = record.listener || '';
  show('explain');
}

// ---- explain -------------------------------------------------------------------------------------------------
async function explain(event) {
  event.preventDefault();
  const form = event.target;
  const headers = {};
  for (const line of form.headers.value.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  const body = { request: `${form.method.value} ${form.url.value.trim()}`, token: form.token.value.trim() || null,
    peer: form.peer.value.trim() || null, listener: form.listener.value.trim() || null, headers };
  const response = await api('/ui/api/explain', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const result = await response.json();
  const target = $('#explain-result');
  if (!response.ok) {
    target.replaceChildren(el('p', { class: 'error' }, result.error || `error ${response.status}`));
    return;
  }
  target.replaceChildren(
    el('div', { class: `verdict ${result.decision}`, id: 'explain-verdict' }, `${result.decision.toUpperCase()} (${result.status})`),
    el('p', {}, 'route ', el('code', {}, result.route || '(none)'), ' · path ', el('code', {}, result.path || ''),
      result.deciding_policy ? [' · decided by ', el('code', {}, result.deciding_policy)] : null),
    el('p', {}, 'reasons: ', el('code', {}, result.reasons.join(', '))),
    el('table', { id: 'explain-trace' },
      el('thead', {}, el('tr', {}, ['policy', 'action', 'rule', 'matched', 'detail'].map(h => el('th', {}, h)))),
      el('tbody', {}, result.trace.map(t => el('tr', {},
        el('td', {}, t.policy), el('td', {}, t.action + (t.dry_run ? ' (dry-run)' : '')), el('td', {}, t.rule ?? ''),
        el('td', { class: t.matched ? 'good' : 'muted' }, t.matched ? 'matched' : 'no match'), el('td', {}, t.detail))))),
    el('details', {}, el('summary', {}, 'JSON (as gatehouse explain --json)'), el('pre', { id: 'explain-json' }, JSON.stringify(result, null, 2))));
}

// ---- health --------------------------------------------------------------------------------------------------
async function loadHealth() {
  const h = await (await api('/ui/api/health')).json();
  const yesNo = (ok, good, bad) => el('span', { class: ok ? 'good' : 'bad' }, ok ? good : bad);
  const issuers = h.issuers.map(i => el('div', { class: 'card issuer', 'data-issuer': i.name },
    el('h3', {}, `Issuer ${i.name}`),
    el('p', { class: 'mono' }, i.issuer),
    el('p', {}, yesNo(i.keys_loaded, `${i.key_count} key(s) loaded`, 'no keys'), ` from ${i.source}`,
      i.key_age_seconds !== undefined ? `, age ${Math.round(i.key_age_seconds)} s` : '',
      i.stale ? [' ', el('span', { class: 'warn' }, 'stale')] : null, i.expired ? [' ', el('span', { class: 'bad' }, 'past max_stale')] : null),
    i.last_failure ? el('p', { class: 'bad' }, `last fetch error ${time(i.last_failure_at)}: ${i.last_failure}`) : null,
    i.introspection_cache_hits !== undefined ? el('p', {}, `introspection cache: ${i.introspection_cache_hits} hits, ${i.introspection_cache_misses} misses`) : null));
  const certificates = h.certificates.map(c => el('div', { class: 'card certificate' },
    el('h3', {}, `${c.listener}: ${c.role.replace('_', ' ')}${c.trust_domain ? ` (${c.trust_domain})` : ''}`),
    el('p', { class: 'mono' }, c.file),
    c.error ? el('p', { class: 'bad' }, c.error)
      : el('p', {}, `${c.count} certificate(s); earliest expiry `, el('span', { class: c.days_left < 7 ? 'bad' : c.days_left < 30 ? 'warn' : 'good' }, `${time(c.not_after)} ${new Date(c.not_after).toLocaleDateString()} (${c.days_left} days)`))));
  const reload = h.reload ? el('div', { class: 'card' }, el('h3', {}, 'Config reloads'),
    el('p', {}, `${h.reload.successes} applied, `, el('span', { class: h.reload.failures ? 'bad' : 'muted' }, `${h.reload.failures} refused`)),
    h.reload.last_attempt ? el('p', {}, `last attempt ${time(h.reload.last_attempt)}`) : null,
    h.reload.last_errors.length ? el('ul', { class: 'bad' }, h.reload.last_errors.map(e => el('li', { class: 'mono' }, e))) : null) : null;
  $('#health').replaceChildren(
    el('p', {}, 'config revision ', el('code', {}, h.revision), ` loaded ${time(h.loaded_at)} · `, yesNo(h.ready, 'ready', 'not ready')),
    el('div', { class: 'cards' }, issuers, certificates, reload,
      el('div', { class: 'card' }, el('h3', {}, 'Audit'),
        el('p', {}, `${h.audit.written} written, ${h.audit.enqueued} queued, `, el('span', { class: h.audit.dropped ? 'bad' : 'muted' }, `${h.audit.dropped} dropped`), `, ${h.audit.sink_errors} sink errors`)),
      el('div', { class: 'card' }, el('h3', {}, 'Console'), el('p', {}, `${h.console.decisions_seen} decisions seen, ${h.console.live_streams} live stream(s)`))));
}

// ---- wiring --------------------------------------------------------------------------------------------------
views.graph = () => loadGraph().catch(e => setStatus(e.message));
views.live = () => startLive().catch(e => setStatus(e.message));
views.health = () => loadHealth().catch(e => setStatus(e.message));

document.addEventListener('DOMContentLoaded', () => {
  for (const button of document.querySelectorAll('nav button')) button.addEventListener('click', () => show(button.dataset.view));
  $('#graph-refresh').addEventListener('click', views.graph);
  $('#graph-minutes').addEventListener('change', views.graph);
  $('#live-filters').addEventListener('submit', e => { e.preventDefault(); views.live(); });
  $('#live-pause').addEventListener('click', e => { paused = !paused; e.target.textContent = paused ? 'Resume' : 'Pause'; });
  $('#explain-form').addEventListener('submit', e => explain(e).catch(err => setStatus(err.message)));
  $('#chain-close').addEventListener('click', () => { $('#chain').hidden = true; });
  $('#login-form').addEventListener('submit', async e => {
    e.preventDefault();
    const response = await fetch('/ui/api/login', { method: 'POST', body: new URLSearchParams(new FormData(e.target)), credentials: 'same-origin' });
    if (response.ok) { $('#login').hidden = true; show(document.querySelector('nav button.active').dataset.view); }
    else $('#login-error').textContent = 'wrong secret';
  });
  const initial = location.hash.slice(1);
  show(views[initial] || initial === 'explain' ? initial : 'graph');
});
