// The xDS push metrics of the control /metrics: pushes and NACKs by type,
// push duration, convergence (config change -> the proxy's ACK of the
// version that carried it) and connected proxies, in the Prometheus text
// format 0.0.4. Counting is a few array writes; rendering happens on scrape.
import { escapeLabelValue } from '../../src/stats/prometheus-text.js';

/** Upper bounds in seconds: push work is milliseconds, convergence up to the debounce max and beyond. */
export const PUSH_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
export const CONVERGENCE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30];

/** A cumulative Prometheus histogram with fixed buckets. */
export class Histogram {
  private readonly counts: number[];
  private total = 0;
  private sumSeconds = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(seconds: number): void {
    for (let i = 0; i < this.bounds.length; i++) if (seconds <= this.bounds[i]!) this.counts[i]!++;
    this.total++;
    this.sumSeconds += seconds;
  }

  get count(): number {
    return this.total;
  }

  get sum(): number {
    return this.sumSeconds;
  }

  render(name: string): string {
    let out = '';
    for (let i = 0; i < this.bounds.length; i++) out += `${name}_bucket{le="${this.bounds[i]}"} ${this.counts[i]}\n`;
    out += `${name}_bucket{le="+Inf"} ${this.total}\n${name}_sum ${this.sumSeconds}\n${name}_count ${this.total}\n`;
    return out;
  }
}

/** Short type names used as label values (Istio's: cds, eds, lds, rds). */
export type XdsTypeLabel = 'cds' | 'eds' | 'lds' | 'rds' | 'sds';

export class PushMetrics {
  readonly pushes = new Map<XdsTypeLabel, number>();
  readonly nacks = new Map<XdsTypeLabel, number>();
  readonly pushDuration = new Histogram(PUSH_DURATION_BUCKETS);
  readonly convergence = new Histogram(CONVERGENCE_BUCKETS);
  /** Translations or snapshot updates that failed for one proxy (the others were still pushed). */
  pushErrors = 0;
  /** Announcements the registry refused (the proxy still gets config, but is no endpoint). */
  rejectedAnnouncements = 0;

  constructor(
    private readonly connectedProxies: () => number,
    private readonly cacheEntries: () => number = () => 0,
  ) {}

  countPush(type: XdsTypeLabel): void {
    this.pushes.set(type, (this.pushes.get(type) ?? 0) + 1);
  }

  countNack(type: XdsTypeLabel): void {
    this.nacks.set(type, (this.nacks.get(type) ?? 0) + 1);
  }

  render(): string {
    const byType = (map: Map<XdsTypeLabel, number>, name: string): string => {
      let out = '';
      for (const type of ['cds', 'eds', 'lds', 'rds', 'sds'] as const) out += `${name}{type="${escapeLabelValue(type)}"} ${map.get(type) ?? 0}\n`;
      return out;
    };
    const family = (name: string, type: string, help: string): string => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    return family('isthmus_xds_pushes_total', 'counter', 'Resource-type updates set for a connected proxy (a new version of that type).')
      + byType(this.pushes, 'isthmus_xds_pushes_total')
      + family('isthmus_xds_nacks_total', 'counter', 'Responses proxies rejected (NACK), by type.')
      + byType(this.nacks, 'isthmus_xds_nacks_total')
      + family('isthmus_xds_push_duration_seconds', 'histogram', 'Time to translate and set the snapshots of one debounced push (all affected proxies).')
      + this.pushDuration.render('isthmus_xds_push_duration_seconds')
      + family('isthmus_xds_convergence_seconds', 'histogram', 'From the config or registry change that triggered a push to the ACK of that version, per proxy and type.')
      + this.convergence.render('isthmus_xds_convergence_seconds')
      + family('isthmus_xds_connected_proxies', 'gauge', 'Proxies (node ids) with at least one ADS stream open.')
      + `isthmus_xds_connected_proxies ${this.connectedProxies()}\n`
      + family('isthmus_xds_proxy_cache_entries', 'gauge', 'Cached translations keyed by what proxies send (scope: namespace, labels, locality; proxyless identity); each goes when its last proxy disconnects.')
      + `isthmus_xds_proxy_cache_entries ${this.cacheEntries()}\n`
      + family('isthmus_xds_push_errors_total', 'counter', 'Translations or snapshot updates that failed for one proxy.')
      + `isthmus_xds_push_errors_total ${this.pushErrors}\n`
      + family('isthmus_xds_rejected_announcements_total', 'counter', 'Workload announcements (node metadata) the registry refused.')
      + `isthmus_xds_rejected_announcements_total ${this.rejectedAnnouncements}\n`;
  }
}

const TYPE_LABELS: Readonly<Record<string, XdsTypeLabel>> = {
  'type.googleapis.com/envoy.config.cluster.v3.Cluster': 'cds',
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment': 'eds',
  'type.googleapis.com/envoy.config.listener.v3.Listener': 'lds',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': 'rds',
  'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret': 'sds',
};

/** `cds`, `eds`, `lds`, `rds`, `sds` for the served type URLs; undefined for others. */
export function typeLabelOf(typeUrl: string): XdsTypeLabel | undefined {
  return TYPE_LABELS[typeUrl];
}
