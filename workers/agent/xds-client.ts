// The sidecar as an ADS client: one gRPC stream to the control plane, Delta
// (DeltaAggregatedResources) by default or state of the world
// (StreamAggregatedResources). Each response is decoded, validated against the
// data plane's subset, assembled with the other types into one Bootstrap and
// applied; then ACKed, or NACKed with error_detail naming the resource and
// field (the last good config keeps serving). A broken stream is retried with
// jittered exponential backoff; what was accepted keeps serving meanwhile.
import * as grpc from '@grpc/grpc-js';
import type { Bootstrap } from '../../src/config/bootstrap-types.js';
import type { Logger } from '../../src/log.js';
import { ProtoJson } from '../../src/xds/proto-json.js';
import type { XdsNode } from '../../src/xds/xds-node.js';
import { loadXdsProtos, TYPE_URL } from '../../src/xds/xds-protos.js';
import { xdsResourceName, type Json } from '../../src/xds/xds-resources.js';
import type { SdsSecrets } from '../../src/config/sds-secrets.js';
import { AdsSecretSet, type HeldSecret } from './xds-client-secrets.js';
import { CLIENT_TYPES, XdsClientState, type ResourceUpdate, type TypeRecord } from './xds-client-state.js';
import { controlChannelOptions } from '../../src/xds/control-server-name.js';

export type XdsProtocol = 'delta' | 'sotw';

export interface XdsClientOptions {
  /** HOST:PORT of the control plane's ADS (plaintext). */
  readonly target: string;
  readonly protocol: XdsProtocol;
  readonly node: XdsNode;
  readonly log: Logger;
  /** Applies a complete config; rejects with the reason to NACK it. */
  readonly apply: (bootstrap: Bootstrap) => Promise<void>;
  /** Takes the Secrets accepted over ADS (all of them, after each change); rejects with the reason to NACK. */
  readonly onSecrets?: (secrets: SdsSecrets) => Promise<void>;
  /** TLS to the control plane's secure port (--control-ca); plaintext when absent. */
  readonly credentials?: grpc.ChannelCredentials | (() => grpc.ChannelCredentials);
  /** Metadata for each stream attempt (the bootstrap token the TLS port asks for: control/ca/xds-stream-identity.ts). */
  readonly callMetadata?: () => grpc.Metadata;
  /** Backoff bounds (ms); defaults 250 and 10000. */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
}

export interface XdsNack {
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
  readonly message: string;
  readonly at: string;
}

export interface XdsClientStatus {
  readonly controlPlane: string;
  readonly protocol: XdsProtocol;
  readonly nodeId: string;
  readonly state: 'connecting' | 'connected' | 'backoff' | 'closed';
  readonly connects: number;
  readonly lastStreamError: string | null;
  /** Per type URL: the accepted version, how many resources, the last nonce. */
  readonly types: Record<string, { version: string; resources: number; nonce: string; acceptedAt: string | null }>;
  readonly lastNack: XdsNack | null;
  /** Referenced resources not yet received (nothing is applied until they are). */
  readonly waitingFor: readonly string[];
  /** true once a complete config was applied. */
  readonly synced: boolean;
}

interface AnyMessage {
  type_url?: string;
  value?: Uint8Array;
}
interface DiscoveryResponse {
  version_info?: string;
  resources?: AnyMessage[];
  type_url?: string;
  nonce?: string;
}
interface DeltaDiscoveryResponse {
  system_version_info?: string;
  resources?: { name?: string; version?: string; resource?: AnyMessage }[];
  type_url?: string;
  nonce?: string;
  removed_resources?: string[];
}
type Response = DiscoveryResponse & DeltaDiscoveryResponse;
type AdsCall = grpc.ClientDuplexStream<object, Response>;
type AdsClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: object) => grpc.Client;

const INVALID_ARGUMENT = 3;
/** A stream that lived this long counts as healthy: the next failure starts the backoff over. */
const HEALTHY_STREAM_MS = 5_000;

export class XdsClient {
  private readonly state = new XdsClientState();
  private readonly protoJson = new ProtoJson(loadXdsProtos().packageDefinition);
  private readonly Client: AdsClientConstructor;
  private client: grpc.Client | null = null;
  private call: AdsCall | null = null;
  private chain: Promise<void> = Promise.resolve();
  private status_: XdsClientStatus['state'] = 'connecting';
  private connects = 0;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private lastStreamError: string | null = null;
  private lastNack: XdsNack | null = null;
  private waitingFor: readonly string[] = [];
  private synced = false;
  /** CDS and LDS: which of them have answered at least once. */
  private readonly initialTypes = new Set<string>();
  private lastApplied = '';
  /** Names subscribed on the current stream (RDS, EDS). */
  private subscribed = new Map<string, Set<string>>();
  private firstSync: { resolve: () => void; promise: Promise<void> };
  /** SDS over ADS: the Secret names the active config references and what arrived for them. */
  private readonly secrets = new AdsSecretSet();
  private readonly secretRecord: TypeRecord = { resources: new Map(), version: '', nonce: '', acceptedAt: null };

  constructor(private readonly options: XdsClientOptions) {
    this.Client = grpc.makeClientConstructor(loadXdsProtos().adsService, 'AggregatedDiscoveryService') as unknown as AdsClientConstructor;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstSync = { resolve, promise };
  }

  /** Resolves once the first complete config was applied. */
  get synchronized(): Promise<void> {
    return this.firstSync.promise;
  }

  start(): void {
    this.connect();
  }

  status(): XdsClientStatus {
    const types: XdsClientStatus['types'] = {};
    for (const [typeUrl, record] of this.state.types) {
      types[typeUrl] = { version: record.version, resources: record.resources.size, nonce: record.nonce, acceptedAt: record.acceptedAt };
    }
    if (this.secrets.wanted().size > 0 || this.secretRecord.acceptedAt !== null) {
      const r = this.secretRecord;
      types[TYPE_URL.SECRET] = { version: r.version, resources: this.secrets.entries().size, nonce: r.nonce, acceptedAt: r.acceptedAt };
    }
    return {
      controlPlane: this.options.target,
      protocol: this.options.protocol,
      nodeId: this.options.node.id,
      state: this.status_,
      connects: this.connects,
      lastStreamError: this.lastStreamError,
      types,
      lastNack: this.lastNack,
      waitingFor: this.waitingFor,
      synced: this.synced,
    };
  }

  /** The node this client announces. */
  get node(): XdsNode {
    return this.options.node;
  }

  /** The accepted resources per type URL (admin /config_dump's dynamic entries); read only. */
  acceptedTypes(): ReadonlyMap<string, Readonly<TypeRecord>> {
    return this.state.types;
  }

  /** The Secrets accepted over ADS, by name (admin /secrets). */
  adsSecrets(): ReadonlyMap<string, HeldSecret> {
    return this.secrets.entries();
  }

  /**
   * The SDS secret names the proxy's config references that the control plane is to send (Envoy subscribes to each
   * SdsSecretConfig with `sds_config: {ads: {}}`); a change subscribes or unsubscribes on the open stream.
   */
  setSecretNames(names: Iterable<string>): void {
    if (!this.secrets.want(names)) return;
    const call = this.call;
    if (call === null) return;
    const wanted = [...this.secrets.wanted()];
    const current = this.subscribed.get(TYPE_URL.SECRET) ?? new Set<string>();
    this.subscribed.set(TYPE_URL.SECRET, new Set(wanted));
    if (this.options.protocol === 'delta') {
      call.write({
        type_url: TYPE_URL.SECRET,
        resource_names_subscribe: wanted.filter((n) => !current.has(n)),
        resource_names_unsubscribe: [...current].filter((n) => !wanted.includes(n)),
      });
    } else {
      call.write({ type_url: TYPE_URL.SECRET, version_info: this.secretRecord.version, response_nonce: this.secretRecord.nonce, resource_names: wanted });
    }
  }

  close(): void {
    this.status_ = 'closed';
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.call?.cancel();
    this.client?.close();
    this.call = null;
    this.client = null;
  }

  // ---------------------------------------------------------------- stream

  private connect(): void {
    if (this.status_ === 'closed') return;
    this.status_ = 'connecting';
    // A fresh channel per attempt (own subchannel pool): grpc-js's channel backoff (up to 120 s) never delays ours.
    this.client?.close();
    // A function: the trust for this attempt (it learns a rotated control plane root; identity-client.ts ControlTrust).
    const creds = this.options.credentials;
    const client = new this.Client(this.options.target, (typeof creds === 'function' ? creds() : creds) ?? grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      ...controlChannelOptions(this.options.target),
    });
    const method = this.options.protocol === 'delta' ? 'DeltaAggregatedResources' : 'StreamAggregatedResources';
    let metadata: grpc.Metadata;
    try {
      metadata = this.options.callMetadata?.() ?? new grpc.Metadata();
    } catch (err) {
      // e.g. the token file went missing: this attempt goes without and the control plane says why.
      this.options.log.warn({ err }, 'xds stream metadata unavailable');
      metadata = new grpc.Metadata();
    }
    const call = (client as unknown as Record<string, (md: grpc.Metadata) => AdsCall>)[method]!.call(client, metadata);
    this.client = client;
    this.call = call;
    this.subscribed = new Map();
    const openedAt = Date.now();
    let received = false;
    call.on('data', (response: Response) => {
      if (this.call !== call) return;
      if (!received) {
        received = true;
        this.status_ = 'connected';
        this.attempt = 0;
        this.connects++;
        this.options.log.info({ controlPlane: this.options.target, protocol: this.options.protocol }, 'xds stream connected');
      }
      this.chain = this.chain.then(() => this.onResponse(call, response)).catch((err: unknown) => {
        this.options.log.error({ err }, 'xds response handling failed');
      });
    });
    call.on('error', () => undefined); // the status event carries the reason
    call.on('status', (status: grpc.StatusObject) => {
      if (this.call !== call) return;
      this.call = null;
      if (received || Date.now() - openedAt >= HEALTHY_STREAM_MS) this.attempt = 0;
      this.lastStreamError = `${grpc.status[status.code] ?? status.code}: ${status.details}`;
      this.retry();
    });
    this.sendInitialRequests(call);
  }

  private retry(): void {
    if (this.status_ === 'closed') return;
    const initial = this.options.backoffInitialMs ?? 250;
    const max = this.options.backoffMaxMs ?? 10_000;
    const ceiling = Math.min(max, initial * 2 ** Math.min(this.attempt, 30));
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2); // jitter: half to all of the ceiling
    this.attempt++;
    this.status_ = 'backoff';
    this.options.log.warn({ controlPlane: this.options.target, error: this.lastStreamError, retryInMs: delay }, 'xds stream lost; keeping the last good config');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  /** Subscribes every type, announcing what is held so a resync sends only what changed. */
  private sendInitialRequests(call: AdsCall): void {
    let first = true;
    for (const typeUrl of CLIENT_TYPES) {
      const wildcard = typeUrl === TYPE_URL.LISTENER || typeUrl === TYPE_URL.CLUSTER;
      const names = wildcard ? new Set<string>() : this.wanted(typeUrl);
      if (!wildcard && names.size === 0) continue;
      this.subscribed.set(typeUrl, names);
      const node = first ? { node: this.options.node } : {};
      first = false;
      if (this.options.protocol === 'delta') {
        call.write({ ...node, type_url: typeUrl, resource_names_subscribe: [...names], initial_resource_versions: this.state.heldVersions(typeUrl) });
      } else {
        call.write({ ...node, type_url: typeUrl, version_info: this.state.record(typeUrl).version, resource_names: [...names] });
      }
    }
    const secretNames = this.secrets.wanted();
    if (secretNames.size === 0) return;
    this.subscribed.set(TYPE_URL.SECRET, secretNames);
    const node = first ? { node: this.options.node } : {};
    if (this.options.protocol === 'delta') {
      const held: Record<string, string> = {};
      for (const [name, h] of this.secrets.entries()) held[name] = h.version;
      call.write({ ...node, type_url: TYPE_URL.SECRET, resource_names_subscribe: [...secretNames], initial_resource_versions: held });
    } else {
      call.write({ ...node, type_url: TYPE_URL.SECRET, version_info: this.secretRecord.version, resource_names: [...secretNames] });
    }
  }

  private wanted(typeUrl: string): Set<string> {
    return typeUrl === TYPE_URL.ROUTE ? this.state.wantedRoutes() : this.state.wantedEndpoints();
  }

  // ---------------------------------------------------------------- responses

  private async onResponse(call: AdsCall, response: Response): Promise<void> {
    if (this.call !== call) return; // from a stream that has since ended: its resync will send it again
    const typeUrl = response.type_url ?? '';
    const nonce = response.nonce ?? '';
    const delta = this.options.protocol === 'delta';
    const version = (delta ? response.system_version_info : response.version_info) ?? '';
    if (typeUrl === TYPE_URL.SECRET) {
      await this.onSecretResponse(call, response, version, nonce);
      return;
    }
    if (!(CLIENT_TYPES as readonly string[]).includes(typeUrl)) {
      this.nack(call, typeUrl, version, nonce, [`type ${typeUrl} is not supported by this proxy`]);
      return;
    }
    this.state.record(typeUrl).nonce = nonce;
    let update: ResourceUpdate;
    try {
      update = delta ? this.deltaUpdate(typeUrl, response) : this.sotwUpdate(typeUrl, response, version);
    } catch (err) {
      this.nack(call, typeUrl, version, nonce, [(err as Error).message]);
      return;
    }
    const proposal = this.state.propose(update);
    if (!proposal.ok) {
      this.nack(call, typeUrl, version, nonce, proposal.problems);
      return;
    }
    // As Envoy's initialization: nothing applies before the first CDS and LDS responses both arrived (a config
    // of clusters alone would be "complete", and mark the proxy ready with no listener).
    if (typeUrl === TYPE_URL.CLUSTER || typeUrl === TYPE_URL.LISTENER) this.initialTypes.add(typeUrl);
    const initialDone = this.initialTypes.size === 2;
    if (proposal.assembly.complete && initialDone) {
      const bootstrap = proposal.assembly.bootstrap;
      const text = JSON.stringify(bootstrap);
      if (text !== this.lastApplied) {
        try {
          await this.options.apply(bootstrap);
        } catch (err) {
          this.nack(call, typeUrl, version, nonce, [`cannot apply: ${(err as Error).message}`]);
          return;
        }
        this.lastApplied = text;
      }
      this.waitingFor = [];
    } else {
      this.waitingFor = proposal.assembly.complete
        ? [TYPE_URL.CLUSTER, TYPE_URL.LISTENER].filter((t) => !this.initialTypes.has(t)).map((t) => `the first ${t.slice(t.lastIndexOf('.') + 1)} response`)
        : proposal.assembly.waitingFor;
      this.options.log.info({ typeUrl, version, waitingFor: this.waitingFor }, 'xds config accepted; waiting for referenced resources before applying');
    }
    proposal.commit(version);
    this.ack(call, typeUrl, version, nonce);
    if (proposal.assembly.complete && initialDone && !this.synced) {
      this.synced = true;
      this.firstSync.resolve();
    }
    if (typeUrl === TYPE_URL.LISTENER) this.resubscribe(call, TYPE_URL.ROUTE);
    if (typeUrl === TYPE_URL.CLUSTER) this.resubscribe(call, TYPE_URL.ENDPOINT);
  }

  /** Secrets are not part of the assembled config: they are checked, held, and handed to the agent, then ACKed. */
  private async onSecretResponse(call: AdsCall, response: Response, version: string, nonce: string): Promise<void> {
    const typeUrl = TYPE_URL.SECRET;
    const record = this.secretRecord;
    record.nonce = nonce;
    let update: ResourceUpdate;
    try {
      update = this.options.protocol === 'delta' ? this.deltaUpdate(typeUrl, response) : this.sotwUpdate(typeUrl, response, version);
    } catch (err) {
      this.nack(call, typeUrl, version, nonce, [(err as Error).message]);
      return;
    }
    const proposal = this.secrets.propose(update.upserts, update.removed, update.replaceAll);
    if (!proposal.ok) {
      this.nack(call, typeUrl, version, nonce, proposal.problems);
      return;
    }
    try {
      await this.options.onSecrets?.(proposal.secrets);
    } catch (err) {
      this.nack(call, typeUrl, version, nonce, [`cannot apply: ${(err as Error).message}`]);
      return;
    }
    proposal.commit();
    record.version = version;
    record.acceptedAt = new Date().toISOString();
    this.ack(call, typeUrl, version, nonce);
  }

  private decode(typeUrl: string, any: AnyMessage | undefined, label: string): Json {
    if (any === undefined || any.type_url !== typeUrl) {
      throw new Error(`${label}: expected a resource of type ${typeUrl}, got ${any?.type_url ?? 'none'}`);
    }
    return this.protoJson.resourceToJson(any, label);
  }

  private deltaUpdate(typeUrl: string, response: DeltaDiscoveryResponse): ResourceUpdate {
    const upserts = (response.resources ?? []).map((resource, i) => {
      const json = this.decode(typeUrl, resource.resource, `resources[${i}]`);
      return { name: resource.name || xdsResourceName(typeUrl, json), json, version: resource.version ?? '' };
    });
    return { typeUrl, upserts, removed: response.removed_resources ?? [], replaceAll: false };
  }

  private sotwUpdate(typeUrl: string, response: DiscoveryResponse, version: string): ResourceUpdate {
    const upserts = (response.resources ?? []).map((any, i) => {
      const json = this.decode(typeUrl, any, `resources[${i}]`);
      return { name: xdsResourceName(typeUrl, json), json, version };
    });
    return { typeUrl, upserts, removed: [], replaceAll: true };
  }

  private ack(call: AdsCall, typeUrl: string, version: string, nonce: string): void {
    this.options.log.info({ typeUrl, version, nonce }, 'xds config ACK');
    if (this.options.protocol === 'delta') call.write({ type_url: typeUrl, response_nonce: nonce });
    else call.write({ type_url: typeUrl, version_info: version, response_nonce: nonce, resource_names: this.names(typeUrl) });
  }

  private nack(call: AdsCall, typeUrl: string, version: string, nonce: string, problems: readonly string[]): void {
    const message = problems.join('; ');
    this.lastNack = { typeUrl, version, nonce, message, at: new Date().toISOString() };
    this.options.log.warn({ typeUrl, version, nonce, problems }, `xds config NACK, keeping the last good config: ${message}`);
    const error_detail = { code: INVALID_ARGUMENT, message };
    if (this.options.protocol === 'delta') call.write({ type_url: typeUrl, response_nonce: nonce, error_detail });
    else {
      call.write({
        type_url: typeUrl, version_info: typeUrl === TYPE_URL.SECRET ? this.secretRecord.version : this.state.record(typeUrl)?.version ?? '', response_nonce: nonce,
        resource_names: this.names(typeUrl), error_detail,
      });
    }
  }

  private names(typeUrl: string): string[] {
    return [...(this.subscribed.get(typeUrl) ?? [])];
  }

  /** Brings the RDS or EDS subscription in line with what the accepted listeners or clusters reference. */
  private resubscribe(call: AdsCall, typeUrl: string): void {
    const wanted = this.wanted(typeUrl);
    const current = this.subscribed.get(typeUrl);
    const added = [...wanted].filter((name) => !current?.has(name));
    const removed = [...(current ?? [])].filter((name) => !wanted.has(name));
    if (added.length === 0 && removed.length === 0) return;
    this.subscribed.set(typeUrl, wanted);
    this.state.forget(typeUrl, removed);
    if (this.options.protocol === 'delta') {
      call.write({ type_url: typeUrl, resource_names_subscribe: added, resource_names_unsubscribe: removed });
    } else {
      const record = this.state.record(typeUrl);
      call.write({ type_url: typeUrl, version_info: record.version, response_nonce: record.nonce, resource_names: [...wanted] });
    }
  }
}
