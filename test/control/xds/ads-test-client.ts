// A real ADS client for the tests: @grpc/grpc-js with the same protos as the
// server, speaking either protocol, queueing responses so a test can await
// them one by one (each wait bounded in time).
import * as grpc from '@grpc/grpc-js';
import { loadXdsProtos, messageNameOf } from '../../../control/xds/protos.js';

export interface Any {
  type_url: string;
  value: Buffer;
}
export interface DiscoveryResponse {
  version_info?: string;
  resources?: Any[];
  type_url: string;
  nonce: string;
}
export interface DeltaResource {
  name: string;
  version: string;
  resource: Any;
}
export interface DeltaDiscoveryResponse {
  system_version_info?: string;
  resources?: DeltaResource[];
  type_url: string;
  nonce: string;
  removed_resources?: string[];
}

type ClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: object) => grpc.Client;

function adsClientConstructor(): ClientConstructor {
  const loaded = grpc.loadPackageDefinition(loadXdsProtos().packageDefinition) as unknown as {
    envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: ClientConstructor } } } };
  };
  return loaded.envoy.service.discovery.v3.AggregatedDiscoveryService;
}

/** Decodes an Any's value with the loaded protos. */
export function decodeAny(any: Any): Record<string, unknown> {
  const type = loadXdsProtos().messageType(messageNameOf(any.type_url));
  if (type === undefined) throw new Error(`test client: unknown type ${any.type_url}`);
  return type.deserialize(any.value) as Record<string, unknown>;
}

export interface AdsTestClientOptions {
  /** TLS to the control plane's secure port; plaintext when absent. */
  readonly credentials?: grpc.ChannelCredentials;
  /** A bootstrap token sent as `authorization: Bearer` metadata. */
  readonly bearer?: string;
  /** More call metadata (e.g. a key only the server may set). */
  readonly metadata?: Readonly<Record<string, string>>;
}

export class AdsTestClient<Response extends { nonce: string; type_url: string }> {
  readonly client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<object, Response>;
  private readonly queue: Response[] = [];
  private waiter: (() => void) | undefined;
  status: grpc.StatusObject | undefined;

  constructor(port: number, method: 'StreamAggregatedResources' | 'DeltaAggregatedResources', o: AdsTestClientOptions = {}) {
    const Client = adsClientConstructor();
    // A private subchannel pool gives every client its own connection, as separate proxies have.
    this.client = new Client(`127.0.0.1:${port}`, o.credentials ?? grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    const metadata = new grpc.Metadata();
    if (o.bearer !== undefined) metadata.set('authorization', `Bearer ${o.bearer}`);
    for (const [k, v] of Object.entries(o.metadata ?? {})) metadata.set(k, v);
    this.call = (this.client as unknown as Record<string, (md: grpc.Metadata) => grpc.ClientDuplexStream<object, Response>>)[method]!.call(this.client, metadata);
    this.call.on('data', (response: Response) => {
      this.queue.push(response);
      this.waiter?.();
    });
    this.call.on('status', (status: grpc.StatusObject) => {
      this.status = status;
      this.waiter?.();
    });
    this.call.on('error', () => this.waiter?.());
  }

  send(request: object): void {
    this.call.write(request);
  }

  /** The next response, or an error after `timeoutMs` (10 s: 50 streams on a loaded 2-core machine took over 2 s; `quiet` shows that nothing came). */
  async next(timeoutMs = 10_000): Promise<Response> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.status !== undefined) throw new Error(`stream ended: ${this.status.code} ${this.status.details}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.queue.shift()!;
  }

  /** Resolves true when no response arrives within `ms` (to show that nothing was pushed). */
  async quiet(ms = 150): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.queue.length === 0;
  }

  /** Waits for the stream's final status. */
  async ended(timeoutMs = 2000): Promise<grpc.StatusObject> {
    const deadline = Date.now() + timeoutMs;
    while (this.status === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    if (this.status === undefined) throw new Error(`stream did not end within ${timeoutMs} ms`);
    return this.status;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

export type SotwClient = AdsTestClient<DiscoveryResponse>;
export type DeltaClient = AdsTestClient<DeltaDiscoveryResponse>;

export function sotwClient(port: number, o: AdsTestClientOptions = {}): SotwClient {
  return new AdsTestClient<DiscoveryResponse>(port, 'StreamAggregatedResources', o);
}

export function deltaClient(port: number, o: AdsTestClientOptions = {}): DeltaClient {
  return new AdsTestClient<DeltaDiscoveryResponse>(port, 'DeltaAggregatedResources', o);
}

export function node(id: string): object {
  // Struct comes from protobufjs's bundled well-known types: its Value fields are camelCase.
  return { id, cluster: 'test', metadata: { fields: { SERVICE: { stringValue: id } } } };
}
