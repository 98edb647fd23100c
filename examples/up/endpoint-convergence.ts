// Before the demo prints its URLs: every sidecar knows every workload of
// each service it has a cluster for. Each sidecar registers itself with the
// control plane when it connects, so the first sidecars are ready before the
// last ones exist; the control plane then pushes the new endpoints. Until
// productpage's sidecar has reviews v3's endpoint, a page routed to v3 says
// "reviews unavailable (503)". A single good page does not show that every
// version is reachable; each sidecar's own /clusters does. A service a
// sidecar has no cluster for (an Istio Sidecar resource scoped it out) is
// not waited for.
import { fetchText, type FetchLimits } from '../../control/dashboard/metrics-fetch.js';
import type { PortPlan } from './port-plan.js';
import { WORKLOADS } from './port-plan.js';

/** One /clusters read: the six sidecars' lists are a few KB; a stalled or flooding admin port is given up on. */
const CLUSTERS_FETCH: FetchLimits = Object.freeze({ timeoutMs: 5000, maxBytes: 4 * 1024 * 1024 });

/** A sidecar and the workloads whose endpoints it does not list yet. */
export interface MissingEndpoints {
  readonly sidecar: string;
  readonly missing: readonly string[];
  /** False: its admin port gave no /clusters (a dead or restarting sidecar), so `missing` is every workload. */
  readonly answered: boolean;
}

const workloadName = (i: number): string => `${WORKLOADS[i]!.service}-${WORKLOADS[i]!.version}`;

/** Takes a sidecar's /clusters text; returns the inbound ports it lists as a healthy host of some cluster. */
export function healthyPorts(clustersText: string): Set<number> {
  const ports = new Set<number>();
  for (const m of clustersText.matchAll(/::127\.0\.0\.1:(\d+)::health_flags::healthy$/gm)) ports.add(Number(m[1]));
  return ports;
}

/**
 * Takes a sidecar's /clusters text; returns the services (short names) it has an outbound cluster for: every
 * cluster prints its circuit-breaker lines (`outbound|9080||reviews.default.svc.cluster.local::default_priority::...`)
 * even with no host.
 */
export function servicesWithClusters(clustersText: string): Set<string> {
  const services = new Set<string>();
  for (const m of clustersText.matchAll(/^outbound\|\d+\|[^|]*\|([a-z0-9-]+)\.[^:]*::/gm)) services.add(m[1]!);
  return services;
}

/** One poll: for each sidecar, the workloads (by inbound port) it does not list yet; an unreachable admin misses all. */
export async function missingEndpoints(plan: PortPlan, signal?: AbortSignal): Promise<MissingEndpoints[]> {
  return (await Promise.all(plan.workloads.map(async (ports, i): Promise<MissingEndpoints> => {
    let known = new Set<number>();
    let services: Set<string> | null = null;
    let answered = false;
    // Bounded like the dashboard's pulls: whatever listens on an admin port, the body is capped and the wait timed.
    const res = await fetchText(new URL(`http://127.0.0.1:${ports.admin}/clusters`), CLUSTERS_FETCH, undefined, signal);
    if (res.ok) {
      known = healthyPorts(res.text);
      services = servicesWithClusters(res.text);
      answered = true;
    } // else not answering yet: it knows nothing
    // No outbound cluster at all is no config yet (a scoped sidecar still has some): wait for every workload then.
    const expected = (j: number): boolean => services === null || services.size === 0 || services.has(WORKLOADS[j]!.service);
    const missing = plan.workloads.flatMap((w, j) => (!expected(j) || known.has(w.inbound) ? [] : [workloadName(j)]));
    return { sidecar: `${workloadName(i)} sidecar`, missing, answered };
  }))).filter((m) => m.missing.length > 0);
}

/**
 * Polls until every sidecar lists every workload's inbound address, or `timeoutMs` passed, or `signal` aborts
 * (Ctrl-C while the demo starts: its sidecars are being stopped, so waiting on them is pointless); returns what
 * was still missing then (empty: converged). An edited config can leave a workload out of every cluster on
 * purpose, so running out of time is the caller's warning, not an error; after an abort the caller says nothing.
 */
export async function waitForEndpoints(plan: PortPlan, timeoutMs: number, signal?: AbortSignal): Promise<MissingEndpoints[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = await missingEndpoints(plan, signal);
    if (missing.length === 0 || Date.now() >= deadline || signal?.aborted === true) return missing;
    await new Promise<void>((r) => {
      const timer = setTimeout(done, 200);
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        r();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/** Takes what was missing when the wait ran out; returns the demo's warning line for each sidecar. */
export function missingEndpointWarnings(missing: readonly MissingEndpoints[], waitedMs: number): string[] {
  return missing.map((m) => (m.answered
    ? `isthmus up: warning: after ${waitedMs / 1000} s the ${m.sidecar} has a cluster but still no endpoint for ${m.missing.join(', ')}; requests it routes there fail until it does\n`
    : `isthmus up: warning: after ${waitedMs / 1000} s the ${m.sidecar}'s admin port does not answer /clusters (is it restarting?); requests through it may fail\n`));
}
