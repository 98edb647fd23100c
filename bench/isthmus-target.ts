// Starts `isthmus proxy` as the bench's system under test: a generated Envoy v3
// bootstrap with one listener on 127.0.0.1 port 0 routing everything to the
// bench upstream, access log off (as the peers run), and the listener port
// taken from the proxy's "proxy ready" log line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startManagedProcess, type ManagedProcess } from '../src/process/managed-process.js';
import { isthmusCommand, parseProxyReady, type ProxyReady } from '../src/process/proxy-process.js';

/** A bootstrap with one listener (port 0) sending every request to one STATIC cluster. */
export function benchBootstrapYaml(upstreamPort: number): string {
  return `# written by isthmus bench
static_resources:
  listeners:
  - name: bench
    address:
      socket_address: { address: 127.0.0.1, port_value: 0 }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench
          route_config:
            name: bench
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: upstream }
  clusters:
  - name: upstream
    type: STATIC
    connect_timeout: 1s
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: upstream
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: 127.0.0.1, port_value: ${upstreamPort} }
`;
}

/** Writes the bootstrap into dir and starts the proxy with `workers` worker threads. */
export async function startIsthmus(upstreamPort: number, workers: number, dir: string): Promise<ManagedProcess<ProxyReady>> {
  mkdirSync(dir, { recursive: true });
  const bootstrap = join(dir, 'bootstrap.yaml');
  writeFileSync(bootstrap, benchBootstrapYaml(upstreamPort));
  const { command, args } = isthmusCommand([
    'proxy',
    '--bootstrap', bootstrap,
    '--workers', String(workers),
    '--admin-port', '0',
    '--data-dir', join(dir, 'data'),
    '--access-log', 'off',
  ]);
  return startManagedProcess({ name: `isthmus (${workers} worker${workers === 1 ? '' : 's'})`, command, args, readyLine: parseProxyReady, readyTimeoutMs: 20_000 });
}
