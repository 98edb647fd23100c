// The Aggregated Discovery Service on a @grpc/grpc-js Server: both
// StreamAggregatedResources (state of the world) and DeltaAggregatedResources
// (incremental), serving whatever the SnapshotCache holds for each node.
// Responses are assembled from pre-encoded bytes, so the service's response
// serializer passes Buffers through untouched.
import { Server, status as GrpcStatus, ServerCredentials, ServerInterceptingCall, type ServerInterceptor, type ServerDuplexStream, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { createLogger, type Logger } from '../../src/log.js';
import { loadXdsProtos } from './protos.js';
import type { SnapshotCache } from './snapshot-cache.js';
import { DEFAULT_STREAM_SETTINGS, quotedClaim, StreamRefused, TRANSPORT_METADATA, type AdsCallbacks, type NodeIdentity, type AdsStreamSettings, type StatusSource, type StreamAuthenticator, type StreamStatus } from './ads-stream.js';
import { SotwStream, type DiscoveryRequest } from './sotw-stream.js';
import { DeltaStream, type DeltaDiscoveryRequest } from './delta-stream.js';

export type { AdsCallbacks, NodeIdentity, StreamBacklog, StreamStatus, TypeStatus } from './ads-stream.js';

export interface AdsServerOptions {
  logger?: Logger;
  /** Largest request accepted (a proxy's DiscoveryRequest is small; bounds memory per peer). Default 4 MiB. */
  maxReceiveMessageLength?: number;
  /** Names one stream may subscribe to per resource type (SotW resource_names, delta subscriptions and initial_resource_versions). Default 10000. */
  maxResourceNamesPerType?: number;
  /** Checks who opens each stream on its first request (the TLS port's bootstrap tokens: control/ca/xds-stream-identity.ts). */
  authenticate?: StreamAuthenticator;
}

export interface AdsServer {
  /** The grpc-js server with the ADS service registered (callers may add services before listen). */
  readonly server: Server;
  /** Binds host:port (plaintext: loopback, or where the operator asks) and resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Binds host:port over TLS with these credentials (the CA's serving certificate) and resolves with the bound port. */
  listenTls(host: string, port: number, credentials: ServerCredentials): Promise<number>;
  /** Every connected stream that has sent its first request, with per-type versions and NACKs. */
  status(): StreamStatus[];
  /** Closes the listener and cancels every stream. */
  close(): Promise<void>;
}

const DEFAULT_MAX_RECEIVE = 4 * 1024 * 1024;
/**
 * Concurrent streams one connection may open (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; a client queues past it,
 * a peer that ignores it has the extra streams refused). A proxy opens its ADS stream and a certificate request or
 * two. Unbounded, one TLS connection with no token held 20000 streams that never sent a request: +168 MB.
 */
export const MAX_STREAMS_PER_CONNECTION = 100;

/** The ADS service definition with responses written as the pre-encoded Buffers the streams build. */
function passThroughService(): ServiceDefinition {
  const ads = loadXdsProtos().adsService;
  const service: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(ads)) {
    service[name] = { ...method, responseSerialize: (message: Buffer) => message };
  }
  return service as ServiceDefinition;
}

/**
 * takes the set of plaintext-bound ports; returns an interceptor that writes into each call's metadata which port
 * kind it came in on (TRANSPORT_METADATA), replacing whatever a client sent under that key. The surface call grpc-js
 * hands a handler does not say, and its auth context names TLS only when a client certificate verified. A port not
 * known as plaintext (not bound yet, or unreadable) counts as TLS: asked for proof, not trusted.
 */
function transportMarker(plaintextPorts: ReadonlySet<number>): ServerInterceptor {
  return (_method, call) => new ServerInterceptingCall(call, {
    start: (next) => next({
      onReceiveMetadata: (metadata, forward) => {
        metadata.set(TRANSPORT_METADATA, plaintextPorts.has(call.getConnectionInfo().localPort ?? -1) ? 'plaintext' : 'tls');
        forward(metadata);
      },
    }),
  });
}

/** The identity a node's metadata claims, as the TLS port's authenticator proves it (NAMESPACE defaults like there). */
function claimedIdentity(node: NodeIdentity): string {
  return JSON.stringify([identityPart(node.metadata.NAMESPACE, 'default'), identityPart(node.metadata.SERVICE_ACCOUNT, null)]);
}

/**
 * A claimed NAMESPACE or SERVICE_ACCOUNT as the index keeps it: a string of metadata's usual bound (256), else a
 * marker no proven stream matches. Every stream is indexed, plaintext ones too, and a peer's metadata value may be
 * a struct of megabytes: kept serialized, it would double what the stream holds.
 */
function identityPart(value: unknown, absent: string | null): string | null {
  if (value === undefined) return absent;
  return typeof value === 'string' && value.length <= 256 ? value : '\u0000unusable';
}

/**
 * The identities of the open streams by node id. The control plane keeps one proxy's registration, config and
 * snapshot per node id, so a proven (TLS) stream may not name a node id that an open stream of another identity
 * holds: else any token holder could take over another workload's endpoint and config by sending its node id with
 * its own (proven) namespace and service account. The same identity may open more streams (a reconnect racing the
 * old stream's close). A map, not a scan of every stream: a reconnect storm of N proxies costs N lookups.
 */
class NodeHolders {
  private readonly byId = new Map<string, Map<number, string>>();

  opened(node: NodeIdentity, streamId: number): void {
    let held = this.byId.get(node.id);
    if (held === undefined) this.byId.set(node.id, (held = new Map()));
    held.set(streamId, claimedIdentity(node));
  }

  closed(node: NodeIdentity, streamId: number): void {
    const held = this.byId.get(node.id);
    if (held === undefined) return;
    held.delete(streamId);
    if (held.size === 0) this.byId.delete(node.id);
  }

  /** takes the authenticator; returns it extended with the takeover refusal. */
  guard(authenticate: StreamAuthenticator): StreamAuthenticator {
    return (node, call) => {
      const proven = authenticate(node, call);
      if (call.metadata.get(TRANSPORT_METADATA)[0] !== 'tls') return proven;
      const held = this.byId.get(proven.id);
      if (held === undefined) return proven;
      const identity = claimedIdentity(proven);
      for (const other of held.values()) {
        if (other !== identity) throw new StreamRefused(GrpcStatus.PERMISSION_DENIED, `node id ${quotedClaim(proven.id)} is held by an open stream of another identity`);
      }
      return proven;
    };
  }

  /** takes the publisher's callbacks; returns them with this index kept beside. */
  follow(callbacks: AdsCallbacks): AdsCallbacks {
    return {
      ...callbacks,
      onStreamOpen: (node, streamId) => {
        this.opened(node, streamId);
        callbacks.onStreamOpen?.(node, streamId);
      },
      onStreamClosed: (node, streamId) => {
        this.closed(node, streamId);
        callbacks.onStreamClosed?.(node, streamId);
      },
    };
  }
}

export function createAdsServer(cache: SnapshotCache, callbacks: AdsCallbacks = {}, options: AdsServerOptions = {}): AdsServer {
  const log = options.logger ?? createLogger('xds');
  const plaintextPorts = new Set<number>();
  const server = new Server({
    'grpc.max_receive_message_length': options.maxReceiveMessageLength ?? DEFAULT_MAX_RECEIVE,
    'grpc.max_concurrent_streams': MAX_STREAMS_PER_CONNECTION,
    interceptors: [transportMarker(plaintextPorts)],
  });
  const streams = new Set<StatusSource>();
  const holders = options.authenticate !== undefined ? new NodeHolders() : undefined;
  const streamCallbacks = holders?.follow(callbacks) ?? callbacks;
  const settings: AdsStreamSettings = {
    maxResourceNamesPerType: options.maxResourceNamesPerType ?? DEFAULT_STREAM_SETTINGS.maxResourceNamesPerType,
    // What one SotW request can name: a delta stream holds no more, however many requests it spreads them over.
    maxResourceNameCharsPerType: options.maxReceiveMessageLength ?? DEFAULT_MAX_RECEIVE,
    ...(options.authenticate !== undefined ? { authenticate: holders!.guard(options.authenticate) } : {}),
  };
  let nextStreamId = 0;
  const forget = (stream: StatusSource): void => {
    streams.delete(stream);
  };

  const implementation: UntypedServiceImplementation = {
    StreamAggregatedResources(call: ServerDuplexStream<DiscoveryRequest, Buffer>): void {
      streams.add(new SotwStream(++nextStreamId, 'sotw', call, cache, streamCallbacks, log, forget, settings));
    },
    DeltaAggregatedResources(call: ServerDuplexStream<DeltaDiscoveryRequest, Buffer>): void {
      streams.add(new DeltaStream(++nextStreamId, 'delta', call, cache, streamCallbacks, log, forget, settings));
    },
  };
  server.addService(passThroughService(), implementation);

  return {
    server,
    async listen(host: string, port: number): Promise<number> {
      const bound = await bind(server, host, port, ServerCredentials.createInsecure());
      plaintextPorts.add(bound);
      return bound;
    },
    listenTls(host: string, port: number, credentials: ServerCredentials): Promise<number> {
      return bind(server, host, port, credentials);
    },
    status(): StreamStatus[] {
      const out: StreamStatus[] = [];
      for (const stream of streams) {
        const status = stream.status();
        if (status !== undefined) out.push(status);
      }
      return out;
    },
    close(): Promise<void> {
      return new Promise((resolve) => {
        server.forceShutdown();
        resolve();
      });
    },
  };
}

function bind(server: Server, host: string, port: number, credentials: ServerCredentials): Promise<number> {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, boundPort) => {
      if (error !== null) reject(new Error(`xDS server cannot listen on ${address}: ${error.message}`));
      else resolve(boundPort);
    });
  });
}
