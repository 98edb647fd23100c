// The config folder the xds scenario's control plane watches: the example mesh
// (examples/mesh: reviews with three subsets, ratings, a namespace-wide
// Sidecar), plus a ServiceEntry per simulated service (productpage-0..K, whose
// endpoints are the simulated sidecars registering themselves), and the
// reviews VirtualService rewritten on every change with a new weight split and
// a request header whose value is the change's revision marker, so a client
// can tell the new RouteConfiguration from the old by looking inside it.
import { copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { revisionMarker } from './xds-convergence.js';

/** The VirtualService file the changes rewrite. */
export const VIRTUAL_SERVICE_FILE = 'reviews-virtual-service.yaml';
/** Copied unchanged from examples/mesh. */
const EXAMPLE_FILES = ['reviews-service-entry.yaml', 'reviews-destination-rule.yaml', 'sidecar.yaml'];

export function simulatedService(index: number, services: number): string {
  return `productpage-${index % services}`;
}

/** examples/mesh, found from this module (bench/ under vitest, dist/bench/ when compiled). */
export function exampleMeshDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'examples', 'mesh');
    if (existsSync(join(candidate, VIRTUAL_SERVICE_FILE))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`examples/mesh not found above ${dirname(fileURLToPath(import.meta.url))}`);
}

/** The reviews VirtualService of revision `revision` (0: the initial one). */
export function virtualServiceYaml(revision: number): string {
  const v2 = 10 + (revision % 8) * 5; // 10, 15, ... 45: the split changes too, as a real rollout would
  return [
    `# Written by isthmus bench xds: revision ${revision}.`,
    'apiVersion: networking.istio.io/v1beta1',
    'kind: VirtualService',
    'metadata:',
    '  name: reviews',
    'spec:',
    '  hosts: [reviews]',
    '  http:',
    '  - name: jason',
    '    match:',
    '    - headers:',
    '        end-user: {exact: jason}',
    '    route:',
    '    - destination: {host: reviews, subset: v3}',
    '  - name: split',
    '    headers:',
    '      request:',
    `        set: {x-bench-revision: ${revisionMarker(revision)}}`,
    '    route:',
    '    - destination: {host: reviews, subset: v1}',
    `      weight: ${100 - v2}`,
    '    - destination: {host: reviews, subset: v2}',
    `      weight: ${v2}`,
    '    timeout: 5s',
    '    retries:',
    '      attempts: 2',
    '      perTryTimeout: 2s',
    '      retryOn: connect-failure,refused-stream,unavailable',
    '',
  ].join('\n');
}

/** ServiceEntries for the simulated services: no static endpoints, the sidecars announce themselves. */
export function simulatedServicesYaml(services: number): string {
  const docs: string[] = [];
  for (let i = 0; i < services; i++) {
    const name = simulatedService(i, services);
    docs.push([
      'apiVersion: networking.istio.io/v1beta1',
      'kind: ServiceEntry',
      'metadata:',
      `  name: ${name}`,
      'spec:',
      `  hosts: [${name}]`,
      '  location: MESH_INTERNAL',
      '  resolution: STATIC',
      '  ports:',
      '  - {number: 9080, name: http, protocol: HTTP}',
      '  workloadSelector:',
      `    labels: {app: ${name}}`,
    ].join('\n'));
  }
  return `${docs.join('\n---\n')}\n`;
}

/** Fills `configDir` (created if needed) with the mesh at revision 0. */
export function writeMeshConfig(configDir: string, services: number): void {
  mkdirSync(configDir, { recursive: true });
  const examples = exampleMeshDir();
  for (const file of EXAMPLE_FILES) copyFileSync(join(examples, file), join(configDir, file));
  writeFileSync(join(configDir, 'simulated-services.yaml'), simulatedServicesYaml(services));
  writeFileSync(join(configDir, VIRTUAL_SERVICE_FILE), virtualServiceYaml(0));
}

/** Replaces the VirtualService atomically (write + rename), so the watcher never reads half a file. */
export function writeVirtualService(configDir: string, revision: number): void {
  const target = join(configDir, VIRTUAL_SERVICE_FILE);
  const temp = join(configDir, `.${VIRTUAL_SERVICE_FILE}.tmp`);
  writeFileSync(temp, virtualServiceYaml(revision));
  renameSync(temp, target);
}
