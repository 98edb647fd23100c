// The xDS bootstrap of a proxyless gRPC app (GRPC_XDS_BOOTSTRAP), written by
// `isthmus agent --grpc-bootstrap FILE` beside the certificate files it keeps
// fresh, as istio-agent writes one for proxyless pods: the control plane's
// ADS (plaintext: grpc-js-xds knows only `insecure` and `google_default`
// channel credentials, so this is the loopback port), the node with Istio's
// proxyless metadata (GENERATOR=grpc, NAMESPACE, SERVICE_ACCOUNT; SERVICE,
// INSTANCE_IPS and APP_PORT for a server), the `default` certificate
// provider (a file_watcher over cert-chain.pem, key.pem, root-cert.pem) the
// control plane's clusters and listeners name, and Istio's server listener
// name template.
import { join } from 'node:path';

/** Must match control/translate/proxyless-tls.ts (the names the control plane writes into clusters and listeners). */
const CERT_PROVIDER = 'default';
const SERVER_LISTENER_TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';

export interface GrpcBootstrapInput {
  /** HOST:PORT of the control plane's plaintext ADS. */
  readonly xdsServer: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Where cert-chain.pem, key.pem and root-cert.pem are. */
  readonly certDir: string;
  /** How often grpc-js-xds re-reads them (ms); the files change at renewal only. */
  readonly refreshMs: number;
  /** A server: the service it is an endpoint of, its address and port. */
  readonly service?: string;
  readonly address?: string;
  readonly appPort?: number;
}

/** takes the agent's settings; returns the bootstrap JSON object. */
export function grpcXdsBootstrap(o: GrpcBootstrapInput): object {
  const metadata: Record<string, string> = { GENERATOR: 'grpc', NAMESPACE: o.namespace, SERVICE_ACCOUNT: o.serviceAccount };
  if (o.service !== undefined) metadata.SERVICE = o.service;
  if (o.address !== undefined) metadata.INSTANCE_IPS = o.address;
  if (o.appPort !== undefined) metadata.APP_PORT = String(o.appPort);
  const seconds = Math.max(1, Math.round(o.refreshMs / 1000));
  return {
    xds_servers: [{ server_uri: o.xdsServer, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: `proxyless~${o.address ?? '127.0.0.1'}~${o.serviceAccount}.${o.namespace}~${o.namespace}.svc.cluster.local`, metadata, locality: {} },
    certificate_providers: {
      [CERT_PROVIDER]: {
        plugin_name: 'file_watcher',
        config: {
          certificate_file: join(o.certDir, 'cert-chain.pem'),
          private_key_file: join(o.certDir, 'key.pem'),
          ca_certificate_file: join(o.certDir, 'root-cert.pem'),
          refresh_interval: `${seconds}s`,
        },
      },
    },
    server_listener_resource_name_template: SERVER_LISTENER_TEMPLATE,
  };
}
