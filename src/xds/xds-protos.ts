// The Envoy xDS v3 protos both sides speak (the control plane's ADS server and
// the sidecar's ADS client), loaded with @grpc/proto-loader from the copies
// shipped in @grpc/grpc-js-xds's deps/. Loading costs ~0.2-0.75 s and ~18 MB
// of RSS, so it happens lazily, once per process: a sidecar started without
// --control never calls loadXdsProtos(), and importing this module for its
// constants (TYPE_URL) does not load @grpc/proto-loader (≈ +9 MB RSS).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MessageTypeDefinition, PackageDefinition, ServiceDefinition } from '@grpc/proto-loader';

/** Type URLs of the resources served over ADS, as Envoy names them. */
export const TYPE_URL = Object.freeze({
  LISTENER: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  ROUTE: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  CLUSTER: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ENDPOINT: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  SECRET: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
});

export type ResourceTypeUrl = (typeof TYPE_URL)[keyof typeof TYPE_URL];

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** Full protobuf name of a type URL's message (`type.googleapis.com/a.b.C` → `a.b.C`). */
export function messageNameOf(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf('/');
  return slash === -1 ? typeUrl : typeUrl.slice(slash + 1);
}

const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  // mTLS between sidecars: the TLS contexts and the tls_inspector inside translated listeners and clusters
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  // TLS termination and origination (gateway servers, DestinationRule tls)
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  // typed configs the readers accept inside resources (Any): HTTP filters, access loggers, the retry host predicate, balancers
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/compressor/v3/compressor.proto',
  'envoy/extensions/compression/gzip/compressor/v3/gzip.proto',
  'envoy/extensions/compression/brotli/compressor/v3/brotli.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  // a cluster's typed_extension_protocol_options (upstream protocol, idle_timeout, max_requests_per_connection)
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  // Isthmus's own extension, from src/xds/protos
  'isthmus/extensions/load_balancing_policies/peak_ewma/v1/peak_ewma.proto',
  // http_connection_manager.tracing's Zipkin provider (Envoy's file, copied: deps/ lacks it)
  'envoy/config/trace/v3/zipkin.proto',
  // the policy filter's HttpClientConfig (isthmus.filters.http.mixer)
  'isthmus/mixer/v1/client_config.proto',
];

const INCLUDE_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'];

export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

export interface XdsProtos {
  readonly packageDefinition: PackageDefinition;
  /** The ADS service as proto-loader builds it (messages decoded keepCase, longs/enums as strings, oneofs named). */
  readonly adsService: ServiceDefinition;
  /** The message definition for a full name, or undefined when it was not loaded. */
  messageType(fullName: string): MessageTypeDefinition<object, object> | undefined;
}

let loaded: XdsProtos | undefined;

/** Isthmus's own .proto files: next to this module in src/xds, or reached from the compiled dist/src/xds. */
function isthmusProtoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'protos'), path.join(here, '..', '..', '..', 'src', 'xds', 'protos')];
  const found = candidates.find((dir) => existsSync(dir));
  if (found === undefined) throw new Error(`Isthmus protos not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Loads the xDS protos on first call; later calls return the same object. */
export function loadXdsProtos(): XdsProtos {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  const depsDir = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const protoLoader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  const packageDefinition = protoLoader.loadSync(PROTO_FILES, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: [...INCLUDE_DIRS.map((dir) => path.join(depsDir, dir)), isthmusProtoDir()],
  });
  const adsService = packageDefinition[ADS_SERVICE_NAME] as ServiceDefinition;
  loaded = Object.freeze({
    packageDefinition,
    adsService,
    messageType(fullName: string): MessageTypeDefinition<object, object> | undefined {
      const definition = packageDefinition[fullName];
      if (definition === undefined || !('format' in definition)) return undefined;
      return definition.format === 'Protocol Buffer 3 DescriptorProto'
        ? (definition as MessageTypeDefinition<object, object>)
        : undefined;
    },
  });
  return loaded;
}
