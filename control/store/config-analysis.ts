// The cross-resource checks of `isthmus analyze` run over the served set
// after every change, reported on each resource's status as warnings. They
// never reject: in a live store resources arrive one at a time (a route may
// land before the DestinationRule with its subset), so a finding is a
// prompt to the operator, not a reason to refuse.

import { analyzeResources, formatAnalysisProblem } from '../config/analyze.js';
import type { IstioResource } from '../config/istio-types.js';
import { keyOf, type ResourceKey } from './config-record.js';

/** Takes the served resources; returns `file:line: [warning: ]message` findings by the key they point at. */
export function analyzeServed(resources: readonly IstioResource[]): Map<ResourceKey, string[]> {
  const byFile = new Map<string, { line: number; key: ResourceKey }[]>();
  for (const r of resources) {
    let list = byFile.get(r.source.file);
    if (list === undefined) byFile.set(r.source.file, (list = []));
    list.push({ line: r.source.line, key: keyOf(r) });
  }
  for (const list of byFile.values()) list.sort((a, b) => a.line - b.line);
  const out = new Map<ResourceKey, string[]>();
  for (const p of analyzeResources(resources)) {
    const list = byFile.get(p.file);
    if (list === undefined || list.length === 0) continue;
    // The resource whose document holds the line: the last one starting at or before it.
    let owner = list[0]!;
    for (const entry of list) {
      if (p.line !== null && entry.line <= p.line) owner = entry;
      else break;
    }
    const found = out.get(owner.key) ?? [];
    found.push(formatAnalysisProblem(p));
    out.set(owner.key, found);
  }
  return out;
}
