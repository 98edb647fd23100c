// A worker thread of simulated sidecars for the xds scenario. Each client is
// one gRPC channel (its own TCP connection, as each Envoy has) with one ADS
// stream, state of the world or delta. It announces itself as a sidecar of
// productpage-<i % services> (src/xds/xds-node.ts: the metadata a real sidecar
// sends), subscribes to CDS and LDS, follows with EDS for its EDS clusters and
// RDS for the route names its listeners' HCMs point at, and ACKs every
// response. On each RDS response it looks inside the RouteConfigurations for
// the bench's revision marker and stamps the ACK time of each new revision.
// Reports go to the parent in batches (the stamps are taken at ACK time, so
// batching does not bias them).
import { parentPort, workerData } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';
import { buildNode } from '../src/xds/xds-node.js';
import { loadXdsProtos, TYPE_URL } from '../src/xds/xds-protos.js';
import { findRevision } from './xds-convergence.js';
import type { XdsWorkerData, XdsWorkerReport } from './xds-worker-protocol.js';
import { simulatedService } from './xds-mesh-config.js';

interface AnyMessage { type_url?: string; value?: Uint8Array }
interface Response {
  type_url?: string;
  version_info?: string;
  nonce?: string;
  resources?: (AnyMessage & { name?: string; version?: string; resource?: AnyMessage })[];
  removed_resources?: string[];
}
type Call = grpc.ClientDuplexStream<object, Response>;
type Json = Record<string, any>;

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
/** Clients of this thread opened but not yet given their config: a rollout's pace, not 5000 SYNs at once. */
const CONNECT_WINDOW = 100;
const GOT = { CDS: 1, EDS: 2, LDS: 4, RDS: 8 } as const;

const data = workerData as XdsWorkerData;
const protos = loadXdsProtos();
const AdsClient = grpc.makeClientConstructor(protos.adsService, 'AggregatedDiscoveryService') as unknown as new (
  address: string, credentials: grpc.ChannelCredentials, options: object) => grpc.Client & Record<string, () => Call>;
const clusterType = protos.messageType('envoy.config.cluster.v3.Cluster')!;
const listenerType = protos.messageType('envoy.config.listener.v3.Listener')!;
const hcmType = protos.messageType('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager')!;

// Resources are content-addressed by (name, version): clients of one worker decode each once.
const decodedNames = new Map<string, string[]>();
function namesOf(type: MessageTypeDefinition<object, object>, key: string, value: Uint8Array | undefined, read: (m: Json) => string[]): string[] {
  let names = decodedNames.get(key);
  if (names === undefined) {
    names = value === undefined ? [] : read(type.deserialize(Buffer.from(value)) as Json);
    if (decodedNames.size > 100_000) decodedNames.clear();
    decodedNames.set(key, names);
  }
  return names;
}
const edsNamesOfCluster = (c: Json): string[] => (c.type === 'EDS' ? [c.eds_cluster_config?.service_name || c.name] : []);
const routeNamesOfListener = (l: Json): string[] => {
  const out: string[] = [];
  for (const chain of l.filter_chains ?? []) {
    for (const filter of chain.filters ?? []) {
      const typed = filter.typed_config as AnyMessage | undefined;
      if (typed?.type_url !== HCM_TYPE || typed.value === undefined) continue;
      const name = (hcmType.deserialize(Buffer.from(typed.value)) as Json).rds?.route_config_name;
      if (typeof name === 'string') out.push(name);
    }
  }
  return out;
};

// ---- batched reports ----
let pending: XdsWorkerReport = { ready: [], revisions: [], errors: [] };
let flushScheduled = false;
function report(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  setTimeout(() => {
    flushScheduled = false;
    parentPort!.postMessage(pending);
    pending = { ready: [], revisions: [], errors: [] };
  }, 5);
}
const now = (): number => performance.timeOrigin + performance.now();

class SimulatedSidecar {
  private readonly call: Call;
  private got = 0;
  private ready = false;
  private revision = 0;
  private edsNames: string[] = [];
  private routeNames: string[] = [];
  /** Delta: names per resource of a wildcard type (a response carries only what changed). */
  private readonly deltaClusters = new Map<string, string[]>();
  private readonly deltaListeners = new Map<string, string[]>();
  private readonly delta = data.protocol === 'delta';

  constructor(private readonly index: number, client: grpc.Client & Record<string, () => Call>) {
    const service = simulatedService(index, data.services);
    const node = buildNode({ service, namespace: 'default', version: `v${index % 3}`, labels: {}, address: '127.0.0.1', appPort: 20000 + (index % 40000) }, index);
    this.call = this.delta ? client.DeltaAggregatedResources!() : client.StreamAggregatedResources!();
    this.call.on('data', (r: Response) => this.receive(r));
    this.call.on('error', (err: Error) => {
      pending.errors.push(`client ${index}: ${err.message}`);
      report();
      if (!this.ready) settled();
    });
    for (const typeUrl of [TYPE_URL.CLUSTER, TYPE_URL.LISTENER]) {
      this.call.write(this.delta
        ? { node, type_url: typeUrl, resource_names_subscribe: [] }
        : { node, type_url: typeUrl, resource_names: [] });
    }
  }

  close(): void {
    this.call.cancel();
  }

  private receive(r: Response): void {
    const typeUrl = r.type_url ?? '';
    if (typeUrl === TYPE_URL.CLUSTER) {
      const names = this.delta ? this.deltaNames(r, this.deltaClusters, clusterType, edsNamesOfCluster) : this.sotwNames(r, clusterType, edsNamesOfCluster);
      this.ack(r, []);
      this.got |= GOT.CDS;
      if (names.length === 0) this.got |= GOT.EDS; // nothing to wait for
      this.edsNames = this.follow(TYPE_URL.ENDPOINT, this.edsNames, names);
    } else if (typeUrl === TYPE_URL.LISTENER) {
      const names = this.delta ? this.deltaNames(r, this.deltaListeners, listenerType, routeNamesOfListener) : this.sotwNames(r, listenerType, routeNamesOfListener);
      this.ack(r, []);
      this.got |= GOT.LDS;
      this.routeNames = this.follow(TYPE_URL.ROUTE, this.routeNames, names);
    } else if (typeUrl === TYPE_URL.ENDPOINT) {
      this.ack(r, this.edsNames);
      this.got |= GOT.EDS;
    } else if (typeUrl === TYPE_URL.ROUTE) {
      let found = 0;
      for (const res of r.resources ?? []) {
        const bytes = this.delta ? res.resource?.value : res.value;
        if (bytes !== undefined) found = Math.max(found, findRevision(bytes));
      }
      this.ack(r, this.routeNames);
      const at = now();
      this.got |= GOT.RDS;
      if (found > this.revision) {
        this.revision = found;
        pending.revisions.push(this.index, found, at);
        report();
      }
    } else {
      this.ack(r, []);
    }
    if (!this.ready && this.got === 15) {
      this.ready = true;
      pending.ready.push(this.index, now());
      report();
      settled();
    }
  }

  private sotwNames(r: Response, type: MessageTypeDefinition<object, object>, read: (m: Json) => string[]): string[] {
    const out: string[] = [];
    const resources = r.resources ?? [];
    for (let i = 0; i < resources.length; i++) {
      for (const n of namesOf(type, `${r.type_url}\0${r.version_info}\0${i}`, resources[i]!.value, read)) out.push(n);
    }
    return out;
  }

  private deltaNames(r: Response, held: Map<string, string[]>, type: MessageTypeDefinition<object, object>, read: (m: Json) => string[]): string[] {
    for (const name of r.removed_resources ?? []) held.delete(name);
    for (const res of r.resources ?? []) {
      const name = res.name ?? '';
      held.set(name, namesOf(type, `${r.type_url}\0${name}\0${res.version ?? ''}`, res.resource?.value, read));
    }
    return [...held.values()].flat();
  }

  /** Subscribes `typeUrl` to `next` when it differs from `current`; returns the names now subscribed. */
  private follow(typeUrl: string, current: string[], next: string[]): string[] {
    const sorted = [...new Set(next)].sort();
    if (sorted.length === current.length && sorted.every((n, i) => n === current[i])) return current;
    if (this.delta) {
      const was = new Set(current);
      const is = new Set(sorted);
      this.call.write({
        type_url: typeUrl,
        resource_names_subscribe: sorted.filter((n) => !was.has(n)),
        resource_names_unsubscribe: current.filter((n) => !is.has(n)),
      });
    } else {
      this.call.write({ type_url: typeUrl, resource_names: sorted });
    }
    return sorted;
  }

  private ack(r: Response, names: readonly string[]): void {
    if (this.delta) this.call.write({ type_url: r.type_url, response_nonce: r.nonce });
    else this.call.write({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names: names });
  }
}

const sidecars: SimulatedSidecar[] = [];
const clients: grpc.Client[] = [];

let opened = 0;
let inFlight = 0;

/** A client got its config (or failed before): room for the next one. */
function settled(): void {
  inFlight--;
  openMore();
}

function openMore(): void {
  while (opened < data.count && inFlight < CONNECT_WINDOW) {
    const client = new AdsClient(`127.0.0.1:${data.port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    clients.push(client);
    inFlight++;
    sidecars.push(new SimulatedSidecar(data.first + opened, client));
    opened++;
  }
}

// Protos are loaded (above) before the parent says `open`, so the connect time excludes this thread's start-up.
parentPort!.on('message', (message: unknown) => {
  if (message === 'open') openMore();
  if (message !== 'close') return;
  for (const s of sidecars) s.close();
  for (const c of clients) c.close();
  parentPort!.postMessage({ closed: true });
});
parentPort!.postMessage({ loaded: true });
