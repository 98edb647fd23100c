// The xDS node a sidecar announces on its ADS stream: Istio's id layout
// (`sidecar~<address>~<service>-<instance>.<ns>~<ns>.svc.cluster.local`) and a
// metadata Struct describing the workload, in the keys the control plane's
// auto-registration reads (control/registry/node-metadata.ts: Istio's names
// where Istio has one; the version travels as LABELS.version).
import type { Locality } from './locality.js';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

export interface WorkloadIdentity {
  readonly service: string;
  readonly namespace: string;
  /** Labels' `version`; '' when not given. */
  readonly version: string;
  /** Other labels (`--label k=v`); `app` and `version` are added from service and version. */
  readonly labels: Readonly<Record<string, string>>;
  /** The workload's address (IP literal) that other proxies would dial. */
  readonly address: string;
  /** The application's port behind the sidecar; 0 when not given. */
  readonly appPort: number;
  /** The service port peers address; 0 or absent: not announced. */
  readonly servicePort?: number;
  /** Real (resolved) listener ports; 0 or absent: not announced (the control plane's defaults apply). */
  readonly outboundPort?: number;
  readonly inboundPort?: number;
  readonly serviceAccount?: string;
  /** node.locality: where this workload runs (the control plane orders endpoints by it for locality failover). */
  readonly locality?: Locality;
  /** A gateway proxy (`--router`): Istio's `router` node type, given the Gateways that select its labels. */
  readonly router?: boolean;
  /** The proxy's admin port: the control plane's dashboard pulls /stats/prometheus there (at the stream's peer address). */
  readonly adminPort?: number;
}

/** Metadata keys (Istio's names where Istio has one). */
export const NODE_METADATA = Object.freeze({
  SERVICE: 'SERVICE',
  NAMESPACE: 'NAMESPACE',
  VERSION: 'VERSION',
  LABELS: 'LABELS',
  INSTANCE_IPS: 'INSTANCE_IPS',
  APP_PORT: 'APP_PORT',
  SERVICE_PORT: 'SERVICE_PORT',
  OUTBOUND_PORT: 'OUTBOUND_PORT',
  INBOUND_PORT: 'INBOUND_PORT',
  SERVICE_ACCOUNT: 'SERVICE_ACCOUNT',
  PROXY_KIND: 'PROXY_KIND',
  ADMIN_PORT: 'ADMIN_PORT',
});

/** google.protobuf.Struct as proto-loader encodes it (protobufjs's bundled well-known types are camelCase). */
export interface StructMessage {
  fields: Record<string, { stringValue: string } | { structValue: StructMessage }>;
}

export interface XdsNode {
  readonly id: string;
  readonly cluster: string;
  readonly metadata: StructMessage;
  /** core.v3.Locality (keepCase field names). */
  readonly locality?: { readonly region: string; readonly zone: string; readonly sub_zone: string };
}

/** `instance` tells apart proxies of one workload (Istio's pod-name suffix): stableInstance(dataDir) for a sidecar. */
export function nodeId(workload: WorkloadIdentity, instance: string | number): string {
  return `${workload.router === true ? 'router' : 'sidecar'}~${workload.address}~${workload.service}-${instance}.${workload.namespace}~${workload.namespace}.svc.cluster.local`;
}

/**
 * An instance suffix that stays the same across restarts of one proxy (so `isthmus proxy-status` and dashboards
 * keep naming it alike) and differs between proxies: a hash of its data directory, which only one proxy can hold.
 */
export function stableInstance(dataDir: string): string {
  return createHash('sha256').update(dataDir).digest('hex').slice(0, 10);
}

/** Every label the workload carries, `app` and `version` included. */
export function workloadLabels(workload: WorkloadIdentity): Record<string, string> {
  const labels: Record<string, string> = { app: workload.service, ...workload.labels };
  if (workload.version !== '') labels.version = workload.version;
  return labels;
}

/** Throws when the identity cannot be announced (an address that is not an IP literal, a port out of range). */
export function buildNode(workload: WorkloadIdentity, instance: string | number = process.pid): XdsNode {
  // INSTANCE_IPS is what other proxies dial: a host name here would register an endpoint nobody can reach.
  if (isIP(workload.address) === 0) throw new Error(`xDS node: INSTANCE_IPS must be an IP address, got '${workload.address}'`);
  const labels: StructMessage = { fields: {} };
  for (const [key, value] of Object.entries(workloadLabels(workload))) labels.fields[key] = { stringValue: value };
  const fields: StructMessage['fields'] = {
    [NODE_METADATA.SERVICE]: { stringValue: workload.service },
    [NODE_METADATA.NAMESPACE]: { stringValue: workload.namespace },
    [NODE_METADATA.VERSION]: { stringValue: workload.version },
    [NODE_METADATA.LABELS]: { structValue: labels },
    [NODE_METADATA.INSTANCE_IPS]: { stringValue: workload.address },
    [NODE_METADATA.PROXY_KIND]: { stringValue: workload.router === true ? 'router' : 'sidecar' },
  };
  const ports: [string, number | undefined][] = [
    [NODE_METADATA.APP_PORT, workload.appPort],
    [NODE_METADATA.SERVICE_PORT, workload.servicePort],
    [NODE_METADATA.OUTBOUND_PORT, workload.outboundPort],
    [NODE_METADATA.INBOUND_PORT, workload.inboundPort],
    [NODE_METADATA.ADMIN_PORT, workload.adminPort],
  ];
  for (const [key, port] of ports) {
    if (port === undefined || port === 0) continue;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`xDS node: ${key} must be a port (1-65535), got ${port}`);
    fields[key] = { stringValue: String(port) };
  }
  if (workload.serviceAccount !== undefined && workload.serviceAccount !== '') {
    fields[NODE_METADATA.SERVICE_ACCOUNT] = { stringValue: workload.serviceAccount };
  }
  const l = workload.locality;
  return {
    id: nodeId(workload, instance),
    cluster: workload.service,
    metadata: { fields },
    ...(l !== undefined ? { locality: { region: l.region, zone: l.zone, sub_zone: l.subZone } } : {}),
  };
}
