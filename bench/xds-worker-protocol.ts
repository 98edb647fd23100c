// What the xds scenario's main thread and its client worker threads exchange.
// Reports are flat number arrays (cheap to clone across threads).

export type XdsProtocol = 'sotw' | 'delta';

/** workerData of bench/xds-client-worker.ts: clients first..first+count-1. */
export interface XdsWorkerData {
  readonly port: number;
  readonly first: number;
  readonly count: number;
  /** Clients are sidecars of productpage-<i % services>. */
  readonly services: number;
  readonly protocol: XdsProtocol;
}

/** A batch of events from one worker. */
export interface XdsWorkerReport {
  /** Pairs: client index, time (ms, performance.timeOrigin + now) it had ACKed CDS, EDS, LDS and RDS once. */
  ready: number[];
  /** Triples: client index, revision found in the RouteConfiguration, time it ACKed that response. */
  revisions: number[];
  /** Stream errors, one line each. */
  errors: string[];
}
