// What `isthmus apply` and `isthmus delete` print for the control plane's
// answer: one line per resource, then under it each error or warning on its
// own line, placed in the user's file (`reviews.yaml:14: ...`, not the
// request's `apply:14`), and a last line saying when nothing changed.
import type { ApiResult } from './store/plan-api-change.js';

/**
 * `apply:14` and `api:Kind/ns/name:14` (how the control plane names lines of a request) as `<file>:14`, for the
 * resources of this request (`own` keys) only: another resource named in a message (the VirtualService an IST0109
 * conflicts with) came from another request, and is not in this file.
 */
function inFile(text: string, file: string, own: ReadonlySet<string>): string {
  return text.replace(/\b(?:apply|api:([A-Za-z]+\/[^/\s:]+\/[^/\s:]+)):(\d+)/g, (m, key: string | undefined, line: string) =>
    key === undefined || own.has(key) ? `${file}:${line}` : m);
}

/** A rejection reason holds one or more `apply:LINE: message` problems joined by '; ': one per line. */
function reasonLines(reason: string): string[] {
  return reason.split(/; (?=apply:\d+: )/);
}

/** The report for a request's results; `file` is what the user named (`-` reads as `<stdin>`). */
export function formatApiReport(results: readonly ApiResult[], file: string): string {
  const name = file === '-' ? '<stdin>' : file;
  const own = new Set(results.map((r) => r.key));
  const lines: string[] = [];
  for (const r of results) {
    if (r.reason === undefined) {
      lines.push(`${r.key} ${r.outcome}`);
    } else if (r.outcome === 'rejected' && /^apply:\d+: /.test(r.reason)) {
      lines.push(`${r.key} rejected:`);
      for (const problem of reasonLines(r.reason)) lines.push(`  ${inFile(problem, name, own).replace(/^(\S+:\d+): /, '$1: error: ')}`);
    } else {
      lines.push(`${r.key} ${r.outcome}: ${inFile(r.reason, name, own)}`);
    }
    // analyze's findings about an accepted resource: marked warning by analyze, else errors it does not reject.
    for (const finding of r.findings ?? []) {
      const placed = inFile(finding, name, own);
      lines.push(`  ${/^\S+: warning: /.test(placed) ? placed : placed.replace(/^(\S+?:\d+): /, '$1: error: ')}`);
    }
  }
  if (results.length > 0 && results.every((r) => r.outcome === 'unchanged')) {
    lines.push(`unchanged: the control plane already serves ${results.length === 1 ? 'this resource' : `all ${results.length} resources`} as given`);
  }
  return lines.map((l) => `${l}\n`).join('');
}
