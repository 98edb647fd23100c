// DOM and inline-SVG helpers for the dashboard page. Every text from the
// server goes in through textContent or attributes, never as markup.
const SVG = 'http://www.w3.org/2000/svg';

/** Builds an HTML element: attrs (class, aria-*, data-*, event handlers as on*), children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return node;
}

/** Builds an SVG element the same way. */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  setAttrs(node, attrs);
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
}

export function fmt(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (n >= 100) return n.toFixed(0);
  return n.toFixed(digits);
}

export function fmtMs(n) {
  return n === null || n === undefined ? '–' : `${fmt(n)} ms`;
}

/** A small line chart of one field of the points, with an accessible summary. */
export function sparkline(points, field, label, unit) {
  const w = 120;
  const h = 32;
  const values = points.map((p) => (p[field] === null ? null : p[field]));
  const known = values.filter((v) => v !== null);
  const max = Math.max(1e-9, ...known);
  const last = known.length > 0 ? known[known.length - 1] : null;
  const summary = `${label}: ${last === null ? 'no data' : `now ${fmt(last)}${unit}, max ${fmt(Math.max(...known))}${unit}`} over ${points.length} samples`;
  const step = values.length > 1 ? w / (values.length - 1) : w;
  let d = '';
  values.forEach((v, i) => {
    if (v === null) return;
    const x = (i * step).toFixed(1);
    const y = (h - 2 - (v / max) * (h - 4)).toFixed(1);
    d += `${d === '' ? 'M' : 'L'}${x},${y} `;
  });
  const chart = svg('svg', { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': summary },
    svg('line', { x1: 0, y1: h - 1, x2: w, y2: h - 1, stroke: '#d0d7de', 'stroke-width': 1 }),
    d === '' ? null : svg('path', { d, fill: 'none', stroke: '#0550ae', 'stroke-width': 1.5, 'vector-effect': 'non-scaling-stroke' }));
  return el('figure', {}, chart, el('figcaption', {}, label));
}

/** Column per depth (callers left of callees), nodes stacked in a column; returns x/y per node id. */
function layout(nodes, edges) {
  const incoming = new Map(nodes.map((n) => [n.id, 0]));
  const out = new Map(nodes.map((n) => [n.id, []]));
  for (const e of edges) {
    if (e.source === e.target) continue;
    incoming.set(e.target, (incoming.get(e.target) ?? 0) + 1);
    out.get(e.source)?.push(e.target);
  }
  const depth = new Map();
  const queue = nodes.filter((n) => (incoming.get(n.id) ?? 0) === 0).map((n) => n.id);
  for (const id of queue) depth.set(id, 0);
  // Longest-path layering, bounded by the node count (cycles stop there).
  for (let round = 0; round < nodes.length && queue.length > 0; round++) {
    const next = [];
    for (const id of queue) {
      for (const t of out.get(id) ?? []) {
        const d = depth.get(id) + 1;
        if ((depth.get(t) ?? -1) < d && d < nodes.length) {
          depth.set(t, d);
          next.push(t);
        }
      }
    }
    queue.splice(0, queue.length, ...next);
  }
  for (const n of nodes) if (!depth.has(n.id)) depth.set(n.id, 0);
  const columns = [];
  for (const n of nodes) {
    const d = depth.get(n.id);
    (columns[d] ??= []).push(n.id);
  }
  const pos = new Map();
  const colW = 400;
  const rowH = 60;
  columns.forEach((col, c) => col.forEach((id, r) => pos.set(id, { x: 10 + c * colW, y: 10 + r * rowH })));
  const rows = Math.max(1, ...columns.map((c) => c?.length ?? 0));
  return { pos, width: 10 + Math.max(1, columns.length) * colW, height: 20 + rows * rowH };
}

/** The service graph as an SVG figure (the table beside it carries the same figures for screen readers). */
export function serviceGraph(nodes, edges) {
  const { pos, width, height } = layout(nodes, edges);
  const nodeW = 160;
  const nodeH = 34;
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `Service graph: ${nodes.length} services and versions, ${edges.length} edges (listed in the table below)`,
  });
  root.style.maxWidth = `${width}px`; // drawn at its own size; narrower screens scale it down
  root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' },
    svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#8c959f' }))));
  for (const e of edges) {
    const a = pos.get(e.source);
    const b = pos.get(e.target);
    if (a === undefined || b === undefined) continue;
    const x1 = a.x + nodeW;
    const y1 = a.y + nodeH / 2;
    const x2 = b.x;
    const y2 = b.y + nodeH / 2;
    const mid = (x1 + x2) / 2;
    const d = b.x > a.x ? `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` : `M${a.x + nodeW / 2},${a.y + nodeH} C${a.x + nodeW / 2},${a.y + nodeH + 30} ${b.x + nodeW / 2},${b.y + nodeH + 30} ${b.x + nodeW / 2},${b.y + nodeH}`;
    const cls = `graph-edge${e.mtls === 'mutual_tls' ? ' mtls' : ''}${e.errorPct >= 1 ? ' errors' : ''}`;
    const label = `${fmt(e.rps)} rps · ${fmt(e.errorPct)}% err · p99 ${fmtMs(e.p99)}${e.mtls === 'mutual_tls' ? ' · mTLS' : e.mtls === 'none' ? ' · plaintext' : ''}`;
    root.append(svg('g', { class: cls },
      svg('title', {}, `${e.source} → ${e.target}: ${label}`),
      svg('path', { d, 'marker-end': 'url(#arrow)' }),
      // Beside the arrow head, above the line: labels of edges into different nodes never meet.
      b.x > a.x ? svg('text', { x: x2 - 8, y: y2 - 8, 'text-anchor': 'end' }, label) : null));
  }
  for (const n of nodes) {
    const p = pos.get(n.id);
    root.append(svg('g', { class: 'graph-node', transform: `translate(${p.x},${p.y})` },
      svg('title', {}, `${n.id}${n.proxies > 0 ? `, ${n.proxies} prox${n.proxies === 1 ? 'y' : 'ies'}` : ''}`),
      svg('rect', { width: nodeW, height: nodeH, rx: 6 }),
      svg('text', { x: nodeW / 2, y: nodeH / 2 + 4, 'text-anchor': 'middle' }, n.id.length > 22 ? `${n.id.slice(0, 21)}…` : n.id)));
  }
  return root;
}
