// The agent's resolution of STRICT_DNS / LOGICAL_DNS clusters: each cluster
// resolves its names on its own timer (dns_refresh_rate, the TTL with
// respect_dns_ttl, exponential back-off from dns_failure_refresh_rate after a
// failure) and, when its addresses change, asks the agent for a new config
// version, which reaches the workers like any other endpoint update. A name
// that does not resolve leaves the cluster empty (503 UH) and is retried; it
// never fails startup.
import type { Bootstrap, Cluster, DnsTarget, Endpoint } from '../../src/config/bootstrap-types.js';
import type { Logger } from '../../src/log.js';
import { DnsLookup, type LookupResult } from './dns-lookup.js';

/** How long startup and reloads wait for a new DNS cluster's first answers before going on without them. */
const FIRST_ANSWER_WAIT_MS = 3_000;
/** A TTL of 0 (or a tiny one) would refresh in a loop: Envoy's floor for respect_dns_ttl is the TTL, ours 1 s at least. */
const MIN_TTL_REFRESH_MS = 1_000;
/** The longest delay a Node timer holds (2^31-1 ms, ~24.8 days): a longer one fires after 1 ms, a query loop. */
const MAX_TIMER_MS = 0x7fffffff;

/** One DNS cluster's resolver state; keyed by everything that changes what it resolves. */
class DnsCluster {
  /** Per target: the last addresses found (a failed lookup keeps them). */
  private readonly answers: (readonly string[])[];
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  private readonly lookup: DnsLookup;
  /** The resolved endpoints, in target order; recomputed after each round. */
  endpoints: readonly Endpoint[] = [];
  readonly firstRound: Promise<void>;

  constructor(
    private readonly cluster: Cluster,
    private readonly log: Logger,
    private readonly onChange: (name: string) => void,
  ) {
    const dns = cluster.dns!;
    this.answers = dns.targets.map(() => []);
    this.lookup = new DnsLookup(dns.resolvers);
    this.firstRound = this.round();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.lookup.close();
  }

  private async round(): Promise<void> {
    const dns = this.cluster.dns!;
    const results = await Promise.all(dns.targets.map((t) => this.lookup.resolve(t.name, dns.lookupFamily)));
    if (this.closed) return;
    let failed: Extract<LookupResult, { status: 'failed' }> | undefined;
    let empty = false;
    let ttlMs: number | undefined;
    results.forEach((r, i) => {
      if (r.status === 'failed') {
        failed ??= r;
        return;
      }
      this.answers[i] = r.addresses;
      if (r.addresses.length === 0) empty = true;
      if (r.ttlMs !== undefined) ttlMs = ttlMs === undefined ? r.ttlMs : Math.min(ttlMs, r.ttlMs);
    });
    const before = endpointKey(this.endpoints);
    this.endpoints = this.build();
    let delayMs: number;
    if (failed !== undefined || empty) {
      // dns_failure_refresh_rate: base doubling up to max, with jitter as Envoy's back-off has.
      delayMs = Math.min(dns.failureMaxMs, dns.failureBaseMs * 2 ** Math.min(this.failures, 20));
      delayMs = Math.max(1, Math.round(delayMs * (0.5 + Math.random() * 0.5)));
      this.failures++;
      const names = dns.targets.filter((_, i) => results[i]!.status === 'failed' || (results[i] as { addresses: readonly string[] }).addresses?.length === 0).map((t) => t.name);
      this.log.warn(
        { cluster: this.cluster.name, names, reason: failed?.reason ?? 'no addresses', retryInMs: delayMs },
        `cluster ${this.cluster.name}: ${names.join(', ')} did not resolve (${failed?.reason ?? 'no addresses'}); retrying in ${delayMs} ms`,
      );
    } else {
      this.failures = 0;
      delayMs = dns.respectTtl && ttlMs !== undefined ? Math.max(MIN_TTL_REFRESH_MS, ttlMs) : dns.refreshRateMs;
    }
    this.timer = setTimeout(() => void this.round(), Math.min(delayMs, MAX_TIMER_MS));
    this.timer.unref();
    if (endpointKey(this.endpoints) !== before) {
      this.log.info(
        { cluster: this.cluster.name, endpoints: this.endpoints.map((e) => `${e.address}:${e.port}`) },
        `cluster ${this.cluster.name} resolved to ${this.endpoints.length === 0 ? 'no addresses' : this.endpoints.map((e) => e.address).join(', ')}`,
      );
      this.onChange(this.cluster.name);
    }
  }

  /** STRICT_DNS: every address of every name; LOGICAL_DNS: the first address of its one name. */
  private build(): Endpoint[] {
    const dns = this.cluster.dns!;
    const out: Endpoint[] = [];
    const seen = new Set<string>();
    dns.targets.forEach((t: DnsTarget, i) => {
      const addresses = this.cluster.type === 'LOGICAL_DNS' ? this.answers[i]!.slice(0, 1) : this.answers[i]!;
      for (const address of addresses) {
        const key = `${address}|${t.port}`;
        if (seen.has(key)) continue; // two names for one address: one endpoint, as Envoy dedupes hosts by address
        seen.add(key);
        out.push({
          address, port: t.port, weight: t.weight, locality: t.locality, priority: t.priority, hostname: t.hostname,
          ...(t.localityWeight === undefined ? {} : { localityWeight: t.localityWeight }),
        });
      }
    });
    return out;
  }
}

function endpointKey(endpoints: readonly Endpoint[]): string {
  return endpoints.map((e) => `${e.address}|${e.port}|${e.weight}|${e.priority}`).join(',');
}

function clusterKey(c: Cluster): string {
  return JSON.stringify([c.name, c.type, c.dns]);
}

/** Every DNS cluster of the configs the agent applies; the results fill those clusters' endpoints. */
export class DnsClusters {
  private readonly clusters = new Map<string, DnsCluster>();
  private committed = new Set<string>();

  constructor(
    private readonly log: Logger,
    /** A committed cluster's addresses changed: apply the config again. */
    private readonly onChange: (cluster: string) => void,
  ) {}

  /** Starts resolving the DNS clusters not seen before, waits (bounded) for their first answers; returns the bootstrap with endpoints filled. */
  async prepare(bootstrap: Bootstrap): Promise<Bootstrap> {
    const fresh: Promise<void>[] = [];
    for (const c of bootstrap.clusters) {
      if (c.dns === null) continue;
      const key = clusterKey(c);
      if (this.clusters.has(key)) continue;
      const entry = new DnsCluster(c, this.log, () => {
        if (this.committed.has(key)) this.onChange(c.name);
      });
      this.clusters.set(key, entry);
      fresh.push(entry.firstRound);
    }
    if (fresh.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const wait = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, FIRST_ANSWER_WAIT_MS);
      });
      await Promise.race([Promise.all(fresh), wait]);
      clearTimeout(timer);
    }
    return this.fill(bootstrap);
  }

  /** The bootstrap with each DNS cluster's endpoints as last resolved. */
  fill(bootstrap: Bootstrap): Bootstrap {
    if (!bootstrap.clusters.some((c) => c.dns !== null)) return bootstrap;
    const clusters = bootstrap.clusters.map((c) => {
      if (c.dns === null) return c;
      const entry = this.clusters.get(clusterKey(c));
      return { ...c, endpoints: entry?.endpoints ?? [] };
    });
    return { ...bootstrap, clusters };
  }

  /** The config with these clusters is now active: stop resolving every other one. */
  commit(bootstrap: Bootstrap): void {
    const keep = new Set(bootstrap.clusters.filter((c) => c.dns !== null).map(clusterKey));
    for (const [key, entry] of this.clusters) {
      if (keep.has(key)) continue;
      entry.close();
      this.clusters.delete(key);
    }
    this.committed = keep;
  }

  stop(): void {
    for (const entry of this.clusters.values()) entry.close();
    this.clusters.clear();
    this.committed.clear();
  }
}
