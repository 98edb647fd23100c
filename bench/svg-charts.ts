// SVG charts drawn on the server side, so bench.html needs no script library
// and no network: a latency spectrum (HdrHistogram plotter style: x is the
// percentile on a log scale of 1 / (1 - p), so 90, 99, 99.9, 99.99 are evenly
// spaced; y is latency in ms) and horizontal bars.
import type { SpectrumPoint } from './latency-histogram.js';

export interface Series {
  readonly name: string;
  readonly points: readonly SpectrumPoint[];
}

export interface Bar {
  readonly name: string;
  readonly value: number;
  /** Shown after the bar, e.g. '33000 (30000-36000)'. */
  readonly text: string;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** Escapes text for SVG/HTML. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** x position of a percentile on the log axis: log10(1 / (1 - p/100)), capped where 100 would be infinite. */
export function percentileX(percentile: number, maxNines: number): number {
  const remaining = Math.max(1 - percentile / 100, 10 ** -maxNines);
  return Math.log10(1 / remaining);
}

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

const TICK_LABELS = ['0%', '90%', '99%', '99.9%', '99.99%', '99.999%', '99.9999%'];

/** A latency-by-percentile chart, one polyline per series (empty series are left out). */
export function spectrumSvg(title: string, series: readonly Series[], width = 720, height = 360): string {
  const drawn = series.filter((s) => s.points.length > 1);
  const counts = drawn.map((s) => s.points.filter(([p]) => p < 100).length);
  // Enough nines to show the deepest resolved point of any series (at least 99.9%), the max drawn one step beyond it.
  const deepest = Math.max(3, ...drawn.map((s) => Math.ceil(percentileX(s.points.filter(([p]) => p < 100).at(-1)?.[0] ?? 0, 9))));
  const maxNines = Math.min(6, deepest + (counts.length > 0 ? 1 : 0));
  const maxMs = niceMax(Math.max(0, ...drawn.flatMap((s) => s.points.map(([, ms]) => ms))));
  const left = 56, right = 170, top = 28, bottom = 40;
  const plotW = width - left - right, plotH = height - top - bottom;
  const x = (p: number): number => left + (percentileX(p, maxNines) / maxNines) * plotW;
  const y = (ms: number): number => top + plotH - (ms / maxMs) * plotH;
  const parts: string[] = [
    `<svg class="spectrum" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<text x="${left}" y="18" class="title">${escapeXml(title)}</text>`,
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" class="frame"/>`,
  ];
  for (let k = 0; k <= maxNines; k++) {
    const px = left + (k / maxNines) * plotW;
    parts.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${top + plotH}" class="grid"/>`);
    parts.push(`<text x="${px}" y="${top + plotH + 16}" text-anchor="middle" class="tick">${TICK_LABELS[k] ?? ''}</text>`);
  }
  for (let k = 0; k <= 4; k++) {
    const ms = (maxMs * k) / 4;
    parts.push(`<line x1="${left}" y1="${y(ms)}" x2="${left + plotW}" y2="${y(ms)}" class="grid"/>`);
    parts.push(`<text x="${left - 6}" y="${y(ms) + 4}" text-anchor="end" class="tick">${Math.round(ms * 1000) / 1000}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle" class="axis">percentile</text>`);
  parts.push(`<text x="14" y="${top + plotH / 2}" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle" class="axis">latency ms</text>`);
  drawn.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const points = s.points.map(([p, ms]) => `${x(p).toFixed(1)},${y(ms).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="series" fill="none" stroke="${color}" stroke-width="2" points="${points}"><title>${escapeXml(s.name)}</title></polyline>`);
    const ly = top + 12 + i * 18;
    parts.push(`<line x1="${left + plotW + 12}" y1="${ly - 4}" x2="${left + plotW + 32}" y2="${ly - 4}" stroke="${color}" stroke-width="3"/>`);
    parts.push(`<text x="${left + plotW + 38}" y="${ly}" class="legend">${escapeXml(s.name)}</text>`);
  });
  if (drawn.length === 0) parts.push(`<text x="${left + 10}" y="${top + 20}" class="tick">no latencies recorded</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/** Horizontal bars, one per entry, scaled to the largest value. */
export function barsSvg(title: string, bars: readonly Bar[], width = 720): string {
  const rowH = 22, left = 230, top = 28, textW = 170;
  const height = top + bars.length * rowH + 10;
  const maxValue = Math.max(0, ...bars.map((b) => b.value));
  const plotW = width - left - textW;
  const parts = [
    `<svg class="bars" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<text x="8" y="18" class="title">${escapeXml(title)}</text>`,
  ];
  bars.forEach((bar, i) => {
    const y = top + i * rowH;
    const w = maxValue > 0 ? Math.max(1, (bar.value / maxValue) * plotW) : 0;
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end" class="legend">${escapeXml(bar.name)}</text>`);
    parts.push(`<rect class="bar" x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${COLORS[i % COLORS.length]}"><title>${escapeXml(bar.text)}</title></rect>`);
    parts.push(`<text x="${left + w + 6}" y="${y + 15}" class="tick">${escapeXml(bar.text)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
