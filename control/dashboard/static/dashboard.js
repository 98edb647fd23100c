// The dashboard page: polls /dashboard/api/state and redraws each section;
// a chosen trace is read from the Zipkin API (/api/v2/trace/{id}) and drawn
// as a waterfall. Only this origin is ever asked.
import { el, fmt, fmtMs, serviceGraph, sparkline } from './dashboard-charts.js';

const POLL_MS = 2000;
let selectedTrace = null;
let lastTraceIds = '';
let lastState = null;

const $ = (id) => document.getElementById(id);

/** Replaces a container's children, keeping keyboard focus and opened details on the elements with the same data-key. */
function replace(container, children) {
  const active = document.activeElement;
  const focused = active && container.contains(active) ? (active.closest('[data-key]')?.getAttribute('data-key') ?? null) : null;
  const open = [...container.querySelectorAll('details[open][data-key]')].map((d) => d.getAttribute('data-key'));
  container.replaceChildren(...children);
  const find = (key) => container.querySelector(`[data-key="${CSS.escape(key)}"]`);
  for (const key of open) {
    const d = find(key);
    if (d !== null) d.open = true;
  }
  if (focused !== null) {
    const target = find(focused);
    (target?.tagName === 'DETAILS' ? target.querySelector('summary') : target)?.focus();
  }
}

function stateCell(state, text = state) {
  return el('td', { class: `state state-${state}` }, text);
}

function renderGraph(s) {
  replace($('graph-figure'), s.nodes.length === 0 ? [el('p', { class: 'hint' }, 'No proxies connected yet.')] : [serviceGraph(s.nodes, s.edges)]);
  const rows = s.edges.map((e) => el('tr', {},
    el('td', {}, e.source), el('td', {}, e.target),
    el('td', { class: 'num' }, fmt(e.rps, 2)), el('td', { class: 'num' }, `${fmt(e.errorPct)}%`),
    el('td', { class: 'num' }, fmtMs(e.p99)),
    stateCell(e.mtls, e.mtls === 'mutual_tls' ? 'mTLS' : e.mtls === 'none' ? 'plaintext' : e.mtls)));
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 6 }, s.metrics.lastPullAt === null ? 'Waiting for the first metric pulls…' : 'No traffic seen yet.')));
  replace($('edges').tBodies[0], rows);
}

function renderServices(s) {
  const cards = s.services.map((svc) => el('li', { 'aria-labelledby': `svc-${svc.name}` },
    el('h3', { id: `svc-${svc.name}` }, svc.name, svc.versions.length > 0 ? ` (${svc.versions.join(', ')})` : ''),
    el('dl', {},
      el('dt', {}, 'Rate'), el('dd', {}, `${fmt(svc.rps, 2)} req/s`),
      el('dt', {}, 'Errors'), el('dd', {}, `${fmt(svc.errorPct)}%`),
      el('dt', {}, 'Latency'), el('dd', {}, `p50 ${fmtMs(svc.p50)}, p99 ${fmtMs(svc.p99)}`)),
    el('div', { class: 'spark' },
      sparkline(svc.series, 'rps', 'Requests/s', ' req/s'),
      sparkline(svc.series, 'errorPct', 'Errors %', '%'),
      sparkline(svc.series, 'p50', 'p50 ms', ' ms'),
      sparkline(svc.series, 'p99', 'p99 ms', ' ms'))));
  replace($('services'), cards.length > 0 ? cards : [el('li', {}, 'No services yet.')]);
}

function renderProxies(s) {
  const rows = s.proxies.map((p) => el('tr', {},
    el('th', { scope: 'row' }, p.name), el('td', {}, p.service ?? '–'), el('td', {}, p.version || '–'),
    stateCell(p.state),
    ...['cds', 'lds', 'eds', 'rds'].map((t) => stateCell(p.types[t] ?? 'NOT_SENT')),
    el('td', { class: 'msg' }, p.nack === null ? '' : `${p.nack.type}: ${p.nack.message}`)));
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 9 }, 'No proxy is connected.')));
  replace($('proxy-table').tBodies[0], rows);
}

/** A rejected resource's reason in full; analysis warnings folded (they can be long), keyboard-openable. */
function problemCell(c) {
  if (c.reason) return el('td', { class: 'msg' }, c.reason);
  if (c.warnings.length === 0) return el('td', {});
  return el('td', {}, el('details', { class: 'warnings', 'data-key': `w:${c.kind}/${c.namespace}/${c.name}` },
    el('summary', {}, `${c.warnings.length} warning${c.warnings.length === 1 ? '' : 's'}`),
    el('ul', {}, c.warnings.map((w) => el('li', {}, w.replace(/(^|[\s(])\/[^\s:]*\//g, '$1'))))));
}

function renderConfig(s) {
  const rows = s.config.map((c) => el('tr', {},
    el('td', {}, c.kind), el('th', { scope: 'row' }, `${c.namespace}/${c.name}`), el('td', {}, c.location ?? c.source),
    stateCell(c.status), problemCell(c)));
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 5 }, 'No config resources.')));
  replace($('config-table').tBodies[0], rows);
  replace($('file-problems'), s.fileProblems.map((p) => el('li', {}, p)));
}

function renderTraceList(s) {
  const ids = s.traces.map((t) => t.traceId).join(',') + (selectedTrace ?? '');
  if (ids === lastTraceIds) return; // unchanged: keep the buttons (and focus) as they are
  lastTraceIds = ids;
  const items = s.traces.map((t) => el('li', {}, el('button', {
    type: 'button', 'data-key': t.traceId, 'aria-pressed': t.traceId === selectedTrace ? 'true' : 'false',
    onclick: () => selectTrace(t.traceId),
  }, `${t.root} · ${t.spans} spans · ${t.services.join(', ')} · ${fmt(t.durationUs / 1000)} ms`, t.error ? el('span', { class: 'err' }, ' · error') : null)));
  replace($('trace-list'), items.length > 0 ? items : [el('li', { class: 'hint' }, 'No traces yet.')]);
}

async function selectTrace(traceId) {
  selectedTrace = traceId;
  lastTraceIds = '';
  if (lastState !== null) renderTraceList(lastState);
  const box = $('waterfall');
  let spans;
  try {
    const res = await fetch(`/api/v2/trace/${encodeURIComponent(traceId)}`, { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    spans = await res.json();
  } catch (err) {
    replace(box, [el('p', {}, `Trace ${traceId} could not be read: ${err.message}`)]);
    return;
  }
  replace(box, [waterfall(traceId, spans)]);
}

/** Spans ordered parent before child, as rows with a bar from start to end on the trace's time axis. */
function waterfall(traceId, spans) {
  const timed = spans.filter((x) => typeof x.timestamp === 'number');
  const start = Math.min(...timed.map((x) => x.timestamp));
  const end = Math.max(...timed.map((x) => x.timestamp + (x.duration ?? 0)));
  const total = Math.max(1, end - start);
  const children = new Map();
  const ids = new Set(spans.map((x) => x.id));
  for (const sp of spans) {
    const parent = sp.parentId && ids.has(sp.parentId) && sp.parentId !== sp.id ? sp.parentId : '';
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(sp);
  }
  for (const list of children.values()) list.sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
  const ordered = [];
  const seen = new Set();
  const walk = (parent, depth) => {
    for (const sp of children.get(parent) ?? []) {
      if (seen.has(sp)) continue;
      seen.add(sp);
      ordered.push([sp, depth]);
      if (depth < 64) walk(sp.id, depth + 1);
    }
  };
  walk('', 0);
  for (const sp of spans) if (!seen.has(sp)) ordered.push([sp, 0]);
  const rows = ordered.map(([sp, depth]) => {
    const service = sp.localEndpoint?.serviceName ?? 'unknown';
    const offset = typeof sp.timestamp === 'number' ? sp.timestamp - start : 0;
    const dur = sp.duration ?? 0;
    const error = sp.tags && (sp.tags.error !== undefined || /^5\d\d$/.test(sp.tags['http.status_code'] ?? ''));
    const text = `${service} ${sp.kind ? sp.kind.toLowerCase() : ''} ${sp.name ?? ''}`.replace(/\s+/g, ' ').trim();
    const label = el('span', { class: 'label', title: text }, '\u00a0'.repeat(depth * 2), text);
    const bar = el('span', { class: `bar${error ? ' error' : ''}` });
    bar.style.left = `${(100 * offset) / total}%`;
    bar.style.width = `${Math.max(0.3, (100 * dur) / total)}%`;
    const durText = el('span', { class: 'dur' }, `${fmt(dur / 1000, 2)} ms`);
    durText.style.left = `${Math.min(85, (100 * (offset + dur)) / total + 0.5)}%`;
    return el('li', { 'aria-label': `${text}: starts at ${fmt(offset / 1000, 2)} ms, takes ${fmt(dur / 1000, 2)} ms${error ? ', error' : ''}` },
      label, el('span', { class: 'track', 'aria-hidden': 'true' }, bar, durText));
  });
  return el('figure', { 'aria-labelledby': 'waterfall-title' },
    el('h3', { id: 'waterfall-title' }, `Trace ${traceId}: ${spans.length} spans, ${fmt(total / 1000, 2)} ms`),
    el('ol', { 'aria-label': 'Trace waterfall' }, rows));
}

function renderStatus(s) {
  const m = s.metrics;
  const pulled = m.lastPullAt === null ? 'no pull yet' : `last pull ${new Date(m.lastPullAt).toLocaleTimeString()}`;
  const from = m.source === 'prometheus' ? 'Prometheus' : `${m.answered}/${m.targets} sidecars`;
  const nack = s.proxies.filter((p) => p.state === 'NACK').length;
  $('status').textContent = `Metrics from ${from}, ${pulled}. ${s.proxies.length} proxies${nack > 0 ? `, ${nack} NACK` : ''}. ${s.spans.traces} traces.`;
}

async function poll() {
  try {
    const res = await fetch('/dashboard/api/state', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const s = await res.json();
    lastState = s;
    renderStatus(s);
    renderGraph(s);
    renderServices(s);
    renderProxies(s);
    renderConfig(s);
    renderTraceList(s);
  } catch (err) {
    $('status').textContent = `Cannot read the control plane's state: ${err.message}. Retrying.`;
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
