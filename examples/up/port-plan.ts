// The ports of the demo mesh, all in one contiguous range from
// `--ports-from N`, so a user (or a test) moves the whole demo with one
// number. The Istio config in examples/bookinfo names no instance port (the
// sidecars register themselves), so nothing there needs rewriting.
import { createServer } from 'node:net';

/** One workload of the demo: its app and its sidecar. */
export interface Workload {
  /** Service name (also its service account and the `app` label). */
  readonly service: 'productpage' | 'details' | 'reviews' | 'ratings';
  readonly version: string;
  /** The app's script in examples/bookinfo-apps/. */
  readonly script: string;
  /** Whether the app calls other services (it then gets OUTBOUND_PORT). */
  readonly callsOut: boolean;
}

export const WORKLOADS: readonly Workload[] = Object.freeze([
  { service: 'productpage', version: 'v1', script: 'productpage.mjs', callsOut: true },
  { service: 'details', version: 'v1', script: 'details.mjs', callsOut: false },
  { service: 'reviews', version: 'v1', script: 'reviews.mjs', callsOut: false },
  { service: 'reviews', version: 'v2', script: 'reviews.mjs', callsOut: true },
  { service: 'reviews', version: 'v3', script: 'reviews.mjs', callsOut: true },
  { service: 'ratings', version: 'v1', script: 'ratings.mjs', callsOut: false },
]);

export interface WorkloadPorts {
  readonly app: number;
  readonly outbound: number;
  readonly inbound: number;
  readonly admin: number;
}

export interface PortPlan {
  /** productpage's sidecar inbound port: the URL a browser opens. */
  readonly entry: number;
  readonly controlAdmin: number;
  readonly controlXds: number;
  readonly controlSecureXds: number;
  /** In the order of WORKLOADS. */
  readonly workloads: readonly WorkloadPorts[];
  /** Every port of the plan, for the check that they are free. */
  readonly all: readonly number[];
}

/** Ports the demo takes from `--ports-from N`: N .. N + PORTS_USED - 1. */
export const PORTS_USED = 4 + 4 * WORKLOADS.length;

/**
 * Takes the first port; returns the plan: N productpage's sidecar inbound (the app URL), N+1 the control
 * plane's admin (dashboard, /metrics), N+2 its plaintext xDS, N+3 its TLS xDS; then four per workload
 * (app, sidecar outbound, sidecar inbound, sidecar admin); productpage's inbound slot is unused (it is N).
 */
export function planPorts(from: number): PortPlan {
  if (!Number.isInteger(from) || from < 1024 || from + PORTS_USED - 1 > 65535) {
    throw new RangeError(`--ports-from must be 1024-${65535 - PORTS_USED + 1} (the demo takes ${PORTS_USED} ports), got ${from}`);
  }
  const workloads = WORKLOADS.map((_, i) => {
    const base = from + 4 + 4 * i;
    return { app: base, outbound: base + 1, inbound: i === 0 ? from : base + 2, admin: base + 3 };
  });
  const all = [from, from + 1, from + 2, from + 3, ...workloads.flatMap((w) => [w.app, w.outbound, w.inbound, w.admin])];
  return { entry: from, controlAdmin: from + 1, controlXds: from + 2, controlSecureXds: from + 3, workloads, all: [...new Set(all)].sort((a, b) => a - b) };
}

/** Takes ports; returns those that cannot be bound on 127.0.0.1 right now. */
export async function busyPorts(ports: readonly number[]): Promise<number[]> {
  const busy = await Promise.all(ports.map((port) => new Promise<number | null>((done) => {
    const probe = createServer();
    probe.once('error', () => done(port));
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(null)));
  })));
  return busy.filter((p): p is number => p !== null);
}
