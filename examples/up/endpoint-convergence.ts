// Before the demo prints its URLs: every sidecar knows every workload. Each
// sidecar registers itself with the control plane when it connects, so the
// first sidecars are ready before the last ones exist; the control plane then
// pushes the new endpoints. Until productpage's sidecar has reviews v3's
// endpoint, a page routed to v3 says "reviews unavailable (503)". A single
// good page does not show that every version is reachable; each sidecar's
// own /clusters does.
import type { PortPlan } from './port-plan.js';
import { WORKLOADS } from './port-plan.js';

/** A sidecar and the workloads whose endpoints it does not list yet. */
export interface MissingEndpoints {
  readonly sidecar: string;
  readonly missing: readonly string[];
}

const workloadName = (i: number): string => `${WORKLOADS[i]!.service}-${WORKLOADS[i]!.version}`;

/** Takes a sidecar's /clusters text; returns the inbound ports it lists as a healthy host of some cluster. */
export function healthyPorts(clustersText: string): Set<number> {
  const ports = new Set<number>();
  for (const m of clustersText.matchAll(/::127\.0\.0\.1:(\d+)::health_flags::healthy$/gm)) ports.add(Number(m[1]));
  return ports;
}

/** One poll: for each sidecar, the workloads (by inbound port) it does not list yet; an unreachable admin misses all. */
export async function missingEndpoints(plan: PortPlan): Promise<MissingEndpoints[]> {
  return (await Promise.all(plan.workloads.map(async (ports, i): Promise<MissingEndpoints> => {
    let known = new Set<number>();
    try {
      const res = await fetch(`http://127.0.0.1:${ports.admin}/clusters`, { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) known = healthyPorts(await res.text());
    } catch {
      // not answering yet: it knows nothing
    }
    const missing = plan.workloads.flatMap((w, j) => (known.has(w.inbound) ? [] : [workloadName(j)]));
    return { sidecar: `${workloadName(i)} sidecar`, missing };
  }))).filter((m) => m.missing.length > 0);
}

/**
 * Polls until every sidecar lists every workload's inbound address, or `timeoutMs` passed; returns what was
 * still missing then (empty: converged). An edited config can leave a workload out of every cluster on purpose,
 * so running out of time is the caller's warning, not an error.
 */
export async function waitForEndpoints(plan: PortPlan, timeoutMs: number): Promise<MissingEndpoints[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = await missingEndpoints(plan);
    if (missing.length === 0 || Date.now() >= deadline) return missing;
    await new Promise((r) => setTimeout(r, 200));
  }
}
