// A proxy's xDS node metadata (its Struct as plain JSON) read into what the
// registry and the translation need: the workload it announces and its
// identity. Keys follow Istio's where Istio has one (NAMESPACE, LABELS,
// INSTANCE_IPS, SERVICE_ACCOUNT); SERVICE, APP_PORT, SERVICE_PORT and the
// listener ports are ours. Peer input: every problem is named, nothing throws.
// A proxyless gRPC client (@grpc/grpc-js-xds and the other gRPC xDS clients
// send their bootstrap's `node`) says so as Istio's gRPC bootstrap does:
// metadata `GENERATOR: "grpc"`. It then gets api_listeners instead of sidecar
// listeners; with SERVICE, INSTANCE_IPS and APP_PORT it is also announced as an
// endpoint reached at the app port (it has no inbound listener).
import type { ProxyIdentity } from '../translate/mesh-config.js';
import type { Locality } from './registry-types.js';
import type { WorkloadAnnouncement } from './workload-announcement.js';

export const NODE_METADATA_KEYS = Object.freeze({
  SERVICE: 'SERVICE',
  NAMESPACE: 'NAMESPACE',
  LABELS: 'LABELS',
  INSTANCE_IPS: 'INSTANCE_IPS',
  SERVICE_ACCOUNT: 'SERVICE_ACCOUNT',
  APP_PORT: 'APP_PORT',
  SERVICE_PORT: 'SERVICE_PORT',
  OUTBOUND_PORT: 'OUTBOUND_PORT',
  INBOUND_PORT: 'INBOUND_PORT',
  GENERATOR: 'GENERATOR',
  PROXY_KIND: 'PROXY_KIND',
});

/** PROXY_KIND of a gateway proxy (`isthmus proxy --router`); Istio marks it by the node id's `router~` prefix, also read. */
export const ROUTER_KIND = 'router';

/** The GENERATOR value that marks a proxyless gRPC client (Istio's). */
export const PROXYLESS_GENERATOR = 'grpc';

export interface NodeReadResult {
  readonly proxy: ProxyIdentity;
  /** Present when the node names a service, an address and an app port: it wants to be an endpoint. */
  readonly announcement?: WorkloadAnnouncement;
  /** Metadata that could not be used, each naming the key. */
  readonly problems: readonly string[];
  /** SERVICE_ACCOUNT, when sent (also for a proxy that is no endpoint: policy's source workload lookup uses it). */
  readonly serviceAccount?: string;
}

/** Bounds on LABELS: Kubernetes allows 317-character keys (253 prefix + 63 name) and 63-character values; values get the other keys' 256. */
const MAX_LABELS = 64;
const MAX_LABEL_KEY = 317;
const MAX_LABEL_VALUE = 256;

function readPort(metadata: Record<string, unknown>, key: string, problems: string[]): number | undefined {
  const value = metadata[key];
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
  if (Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535) return n as number;
  problems.push(`node metadata ${key} must be a port (1-65535), got ${JSON.stringify(value)}`);
  return undefined;
}

function readString(metadata: Record<string, unknown>, key: string, problems: string[]): string | undefined {
  const value = metadata[key];
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.length <= 256) return value;
  problems.push(`node metadata ${key} must be a string of at most 256 characters`);
  return undefined;
}

/** Reads a node's id and metadata; unusable keys are left out and reported. */
export function readNodeMetadata(nodeId: string, metadata: Record<string, unknown>, locality?: Locality): NodeReadResult {
  const problems: string[] = [];
  const k = NODE_METADATA_KEYS;
  const namespace = readString(metadata, k.NAMESPACE, problems) ?? 'default';
  const service = readString(metadata, k.SERVICE, problems);
  const labels: Record<string, string> = {};
  const rawLabels = metadata[k.LABELS];
  if (rawLabels !== undefined) {
    if (typeof rawLabels !== 'object' || rawLabels === null || Array.isArray(rawLabels)) {
      problems.push(`node metadata ${k.LABELS} must be a map of strings`);
    } else {
      // Peer input kept for the proxy's lifetime and copied into every Check's source.labels: bounded.
      const entries = Object.entries(rawLabels);
      if (entries.length > MAX_LABELS) problems.push(`node metadata ${k.LABELS} has ${entries.length} labels; the first ${MAX_LABELS} are kept`);
      for (const [key, value] of entries.slice(0, MAX_LABELS)) {
        if (key.length > MAX_LABEL_KEY) problems.push(`node metadata ${k.LABELS} key ${JSON.stringify(key.slice(0, 32))}... is longer than ${MAX_LABEL_KEY} characters`);
        else if (typeof value !== 'string') problems.push(`node metadata ${k.LABELS}.${key} must be a string`);
        else if (value.length > MAX_LABEL_VALUE) problems.push(`node metadata ${k.LABELS}.${key} must be at most ${MAX_LABEL_VALUE} characters`);
        else labels[key] = value;
      }
    }
  }
  const ips = readString(metadata, k.INSTANCE_IPS, problems);
  const address = ips?.split(',')[0]?.trim() || undefined;
  const appPort = readPort(metadata, k.APP_PORT, problems);
  const servicePort = readPort(metadata, k.SERVICE_PORT, problems);
  const outboundPort = readPort(metadata, k.OUTBOUND_PORT, problems);
  const inboundPort = readPort(metadata, k.INBOUND_PORT, problems);
  const serviceAccount = readString(metadata, k.SERVICE_ACCOUNT, problems);
  const generator = readString(metadata, k.GENERATOR, problems);
  if (generator !== undefined && generator !== PROXYLESS_GENERATOR) {
    problems.push(`node metadata ${k.GENERATOR} must be "${PROXYLESS_GENERATOR}" (a proxyless gRPC client) or absent, got ${JSON.stringify(generator)}`);
  }
  const proxyless = generator === PROXYLESS_GENERATOR;
  const kind = readString(metadata, k.PROXY_KIND, problems);
  if (kind !== undefined && kind !== ROUTER_KIND && kind !== 'sidecar') {
    problems.push(`node metadata ${k.PROXY_KIND} must be "sidecar" or "${ROUTER_KIND}", got ${JSON.stringify(kind)}`);
  }
  const router = !proxyless && (kind === ROUTER_KIND || (kind === undefined && nodeId.startsWith(`${ROUTER_KIND}~`)));
  if (service !== undefined && labels.app === undefined) labels.app = service.split('.')[0]!;
  const proxy: ProxyIdentity = {
    id: nodeId,
    namespace,
    labels,
    ...(service !== undefined ? { service } : {}),
    ...(address !== undefined ? { address } : {}),
    ...(appPort !== undefined ? { appPort } : {}),
    ...(outboundPort !== undefined ? { outboundPort } : {}),
    ...(inboundPort !== undefined ? { inboundPort } : {}),
    ...(proxyless ? { proxyless: true } : {}),
    ...(router ? { router: true } : {}),
    ...(locality !== undefined ? { locality } : {}),
  };
  // A gateway is not an endpoint of a service: it is reached from outside the mesh.
  const account = serviceAccount !== undefined ? { serviceAccount } : {};
  if (router || service === undefined || address === undefined || appPort === undefined) return { proxy, problems, ...account };
  const { version, ...otherLabels } = labels;
  // Peers reach this workload through its proxy's inbound listener when it has one, else the app directly.
  const announcement: WorkloadAnnouncement = {
    id: nodeId,
    service,
    namespace,
    labels: otherLabels,
    ...(version !== undefined ? { version } : {}),
    address,
    appPort: proxyless ? appPort : (inboundPort ?? appPort),
    servicePort: servicePort ?? appPort,
    ...(serviceAccount !== undefined ? { serviceAccount } : {}),
    ...(locality !== undefined ? { locality } : {}),
  };
  return { proxy, announcement, problems, ...account };
}
