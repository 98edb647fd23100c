// The xDS node a sidecar announces on its ADS stream: Istio's id layout
// (`sidecar~<address>~<service>-<pid>.<ns>~<ns>.svc.cluster.local`) and a
// metadata Struct describing the workload, in the keys the control plane's
// auto-registration reads (control/registry/node-metadata.ts: Istio's names
// where Istio has one; the version travels as LABELS.version).

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
}

/** Metadata keys (Istio's names where Istio has one). */
export const NODE_METADATA = Object.freeze({
  SERVICE: 'SERVICE',
  NAMESPACE: 'NAMESPACE',
  VERSION: 'VERSION',
  LABELS: 'LABELS',
  INSTANCE_IPS: 'INSTANCE_IPS',
  APP_PORT: 'APP_PORT',
  PROXY_KIND: 'PROXY_KIND',
});

/** google.protobuf.Struct as proto-loader encodes it (protobufjs's bundled well-known types are camelCase). */
export interface StructMessage {
  fields: Record<string, { stringValue: string } | { structValue: StructMessage }>;
}

export interface XdsNode {
  readonly id: string;
  readonly cluster: string;
  readonly metadata: StructMessage;
}

export function nodeId(workload: WorkloadIdentity, pid: number): string {
  return `sidecar~${workload.address}~${workload.service}-${pid}.${workload.namespace}~${workload.namespace}.svc.cluster.local`;
}

/** Every label the workload carries, `app` and `version` included. */
export function workloadLabels(workload: WorkloadIdentity): Record<string, string> {
  const labels: Record<string, string> = { app: workload.service, ...workload.labels };
  if (workload.version !== '') labels.version = workload.version;
  return labels;
}

export function buildNode(workload: WorkloadIdentity, pid: number = process.pid): XdsNode {
  const labels: StructMessage = { fields: {} };
  for (const [key, value] of Object.entries(workloadLabels(workload))) labels.fields[key] = { stringValue: value };
  const fields: StructMessage['fields'] = {
    [NODE_METADATA.SERVICE]: { stringValue: workload.service },
    [NODE_METADATA.NAMESPACE]: { stringValue: workload.namespace },
    [NODE_METADATA.VERSION]: { stringValue: workload.version },
    [NODE_METADATA.LABELS]: { structValue: labels },
    [NODE_METADATA.INSTANCE_IPS]: { stringValue: workload.address },
    [NODE_METADATA.PROXY_KIND]: { stringValue: 'sidecar' },
  };
  if (workload.appPort !== 0) fields[NODE_METADATA.APP_PORT] = { stringValue: String(workload.appPort) };
  return { id: nodeId(workload, pid), cluster: workload.service, metadata: { fields } };
}
