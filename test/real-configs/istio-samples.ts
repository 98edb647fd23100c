// Helpers for running the Istio-shaped files of test/real-configs/istio/ as a
// user would: the file text as written, with only the listen ports (and the
// certificate paths of a file-mount task) replaced, plus ServiceEntries that
// put the samples' services on loopback upstreams.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/isthmus-process.js';

export const ISTIO_SAMPLES = join(ROOT, 'test', 'real-configs', 'istio');

export function sampleText(file: string): string {
  return readFileSync(join(ISTIO_SAMPLES, file), 'utf8');
}

/**
 * The file's text with each Gateway's server `number: N` replaced by ports[`<gateway name>:<N>`] (a missing entry
 * is an error), and each key of `paths` replaced by its value. Nothing else changes.
 */
export function withPorts(text: string, ports: Readonly<Record<string, number>>, paths: Readonly<Record<string, string>> = {}): string {
  const docs = text.split(/^---$/m).map((doc) => {
    if (!/^kind: Gateway$/m.test(doc)) return doc;
    const name = /^metadata:\n\s+name: (\S+)/m.exec(doc)?.[1];
    return doc.replace(/(number: )(\d+)/g, (_m, prefix: string, n: string) => {
      const port = ports[`${name}:${n}`];
      if (port === undefined) throw new Error(`no port given for Gateway ${name} port ${n}`);
      return `${prefix}${port}`;
    });
  });
  let out = docs.join('---');
  for (const [from, to] of Object.entries(paths)) out = out.split(from).join(to);
  return out;
}

/**
 * Match conditions on a gateway port (`port: N` in a VirtualService's match list; destinations write
 * `port: {number: N}`, which is left alone) moved with the Gateway's port.
 */
export function withMatchPorts(text: string, ports: Readonly<Record<number, number>>): string {
  return text.replace(/(\s(?:- )?port: )(\d+)/g, (m, prefix: string, n: string) => (ports[Number(n)] === undefined ? m : `${prefix}${ports[Number(n)]}`));
}

/**
 * A MESH_INTERNAL ServiceEntry for `name` in namespace default, one port, its endpoints on 127.0.0.1 (each app port
 * with its labels).
 */
export function loopbackService(name: string, servicePort: number, appPort: number | readonly { port: number; labels: Record<string, string> }[], protocol = 'HTTP'): string {
  const endpoints = typeof appPort === 'number' ? [{ port: appPort, labels: {} }] : appPort;
  const list = endpoints.map((e) => `{address: 127.0.0.1, ports: {p: ${e.port}}, labels: ${JSON.stringify(e.labels)}}`).join(', ');
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.default.svc.cluster.local]
  location: MESH_INTERNAL
  ports: [{number: ${servicePort}, name: p, protocol: ${protocol}}]
  resolution: STATIC
  endpoints: [${list}]
---
`;
}

/**
 * The file's text with its ServiceEntry documents left out (resolution DNS names real hosts; the test puts each
 * host on a loopback endpoint with its own ServiceEntry instead), each key of `paths` replaced by its value.
 */
export function withoutServiceEntries(text: string, paths: Readonly<Record<string, string>> = {}): string {
  let out = text.split(/^---$/m).filter((doc) => !/^kind: ServiceEntry$/m.test(doc)).join('---');
  for (const [from, to] of Object.entries(paths)) out = out.split(from).join(to);
  return out;
}

/** A MESH_EXTERNAL ServiceEntry for `host` whose ports (name: number) all reach 127.0.0.1 at the port given beside it. */
export function loopbackExternal(name: string, host: string, ports: readonly { name: string; number: number; protocol: string; target: number }[]): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${host}]
  location: MESH_EXTERNAL
  ports: [${ports.map((p) => `{number: ${p.number}, name: ${p.name}, protocol: ${p.protocol}}`).join(', ')}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {${ports.map((p) => `${p.name}: ${p.target}`).join(', ')}}}]
---
`;
}
