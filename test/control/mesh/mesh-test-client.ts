// A state-of-the-world ADS client that behaves like an Envoy sidecar for the
// mesh tests: announces its workload in node metadata, subscribes to CDS and
// LDS, follows with EDS for the EDS clusters it was given and RDS for the
// outbound route, ACKs every response (or NACKs the next one of a type when
// told), and keeps the latest decoded resources per type.
import { TYPE_URL } from '../../../control/xds/protos.js';
import { decodeAny, sotwClient, type DiscoveryResponse, type SotwClient } from '../xds/ads-test-client.js';

export interface Workload {
  readonly service?: string;
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  readonly ip?: string;
  readonly appPort?: number;
  /** Raw metadata fields added as string values (to send bad metadata). */
  readonly raw?: Record<string, string>;
  /** node.locality. */
  readonly locality?: { region?: string; zone?: string; sub_zone?: string };
}

type Json = Record<string, any>;

function metadataStruct(w: Workload): object {
  const fields: Record<string, object> = {};
  if (w.service !== undefined) fields.SERVICE = { stringValue: w.service };
  if (w.namespace !== undefined) fields.NAMESPACE = { stringValue: w.namespace };
  if (w.ip !== undefined) fields.INSTANCE_IPS = { stringValue: w.ip };
  if (w.appPort !== undefined) fields.APP_PORT = { stringValue: String(w.appPort) };
  if (w.labels !== undefined) {
    const labelFields: Record<string, object> = {};
    for (const [k, v] of Object.entries(w.labels)) labelFields[k] = { stringValue: v };
    fields.LABELS = { structValue: { fields: labelFields } };
  }
  for (const [k, v] of Object.entries(w.raw ?? {})) fields[k] = { stringValue: v };
  return { fields };
}

export interface Received {
  readonly version: string;
  readonly resources: Json[];
  readonly at: number;
}

export class MeshTestClient {
  readonly ads: SotwClient;
  /** Every response, in order: `type version`, e.g. `eds 3f...`. */
  readonly log: { type: string; version: string }[] = [];
  readonly latest = new Map<string, Received>();
  private readonly subscribed = new Map<string, string[]>();
  private readonly nonces = new Map<string, string>();
  private readonly acked = new Map<string, string>();
  private readonly nackNext = new Map<string, string>();

  constructor(port: number, readonly id: string, workload: Workload) {
    this.ads = sotwClient(port);
    this.ads.call.on('data', (r: DiscoveryResponse) => this.receive(r));
    const node = { id, cluster: 'test', metadata: metadataStruct(workload), ...(workload.locality !== undefined ? { locality: workload.locality } : {}) };
    this.request(TYPE_URL.CLUSTER, [], node);
    this.request(TYPE_URL.LISTENER, []);
  }

  /** The next response of `type` (short name) will be NACKed with `message`. */
  nack(type: string, message: string): void {
    this.nackNext.set(type, message);
  }

  resources(type: 'cds' | 'eds' | 'lds' | 'rds'): Json[] {
    return this.latest.get(type)?.resources ?? [];
  }

  version(type: 'cds' | 'eds' | 'lds' | 'rds'): string | undefined {
    return this.latest.get(type)?.version;
  }

  /** `ip:port` of every endpoint of a ClusterLoadAssignment. */
  endpointsOf(cluster: string): string[] {
    const cla = this.resources('eds').find((c) => c.cluster_name === cluster);
    if (cla === undefined) return [];
    return (cla.endpoints ?? []).flatMap((g: Json) => (g.lb_endpoints ?? []).map((e: Json) =>
      `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`)).sort();
  }

  close(): void {
    this.ads.close();
  }

  private request(typeUrl: string, names: string[], node?: object, errorMessage?: string): void {
    this.subscribed.set(typeUrl, names);
    this.ads.send({
      ...(node !== undefined ? { node } : {}),
      type_url: typeUrl,
      resource_names: names,
      version_info: this.acked.get(typeUrl) ?? '',
      response_nonce: this.nonces.get(typeUrl) ?? '',
      ...(errorMessage !== undefined ? { error_detail: { code: 3, message: errorMessage } } : {}),
    });
  }

  private receive(r: DiscoveryResponse): void {
    const type = shortType(r.type_url);
    const resources = (r.resources ?? []).map((any) => decodeAny(any) as Json);
    this.log.push({ type, version: r.version_info ?? '' });
    this.nonces.set(r.type_url, r.nonce);
    const nack = this.nackNext.get(type);
    if (nack !== undefined) {
      this.nackNext.delete(type);
      this.request(r.type_url, this.subscribed.get(r.type_url) ?? [], undefined, nack);
      return;
    }
    this.latest.set(type, { version: r.version_info ?? '', resources, at: performance.now() });
    this.acked.set(r.type_url, r.version_info ?? '');
    this.request(r.type_url, this.subscribed.get(r.type_url) ?? []);
    // As Envoy: clusters bring the EDS subscription, listeners the RDS one.
    if (r.type_url === TYPE_URL.CLUSTER) {
      const names = resources.filter((c) => c.type === 'EDS').map((c) => String(c.eds_cluster_config?.service_name || c.name)).sort();
      if (names.join() !== (this.subscribed.get(TYPE_URL.ENDPOINT) ?? []).join() || !this.subscribed.has(TYPE_URL.ENDPOINT)) {
        this.request(TYPE_URL.ENDPOINT, names);
      }
    }
    if (r.type_url === TYPE_URL.LISTENER && !this.subscribed.has(TYPE_URL.ROUTE)) this.request(TYPE_URL.ROUTE, ['outbound']);
  }
}

export function shortType(typeUrl: string): string {
  return { [TYPE_URL.CLUSTER]: 'cds', [TYPE_URL.ENDPOINT]: 'eds', [TYPE_URL.LISTENER]: 'lds', [TYPE_URL.ROUTE]: 'rds' }[typeUrl] ?? typeUrl;
}

/** Polls `check` every 10 ms until truthy, or throws after timeoutMs. */
export async function eventually<T>(what: string, check: () => T | undefined | false | null, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
