// One order decides which of two VirtualServices for a host the proxies get,
// and analyze names that same one as used: whatever order the files came in.
import { describe, expect, it } from 'vitest';
import { analyzeResources } from '../../../control/config/analyze.js';
import type { IstioResource } from '../../../control/config/istio-types.js';
import { parseResources } from '../../../control/config/parse-resources.js';
import { hostConflicts } from '../../../control/config/virtual-service-precedence.js';
import { createMeshConfig } from '../../../control/translate/mesh-config.js';

const vs = (name: string, ns: string, hosts: string) =>
  `apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  hosts: ${hosts}\n  http:\n  - route: [{destination: {host: reviews.default.svc.cluster.local}}]\n`;
const HOST = 'reviews.default.svc.cluster.local';

function resources(...docs: [string, string][]): IstioResource[] {
  return docs.flatMap(([file, text]) => parseResources(text, file));
}

describe('VirtualService precedence', () => {
  const z = vs('z', 'alpha', `[${HOST}]`);
  const a = vs('a', 'beta', `[${HOST}, other.example.com]`);
  const c = vs('c', 'beta', '["*.example.com"]');

  for (const order of [[['z.yaml', z], ['a.yaml', a]], [['a.yaml', a], ['z.yaml', z]]] as [string, string][][]) {
    it(`the translation and analyze agree on the used one (files ${order.map((o) => o[0]).join(', ')})`, () => {
      const list = resources(...order, ['c.yaml', c]);
      const used = createMeshConfig(list).virtualServiceFor(HOST);
      expect(`${used?.metadata.namespace}/${used?.metadata.name}`).toBe('alpha/z');
      expect(hostConflicts(list).map((x) => `${x.used.metadata.name} over ${x.ignored.metadata.name} for ${x.host}`)).toEqual([`z over a for ${HOST}`]);
      const errors = analyzeResources(list).filter((p) => p.message.includes('IST0109'));
      expect(errors.map((p) => `${p.severity} ${p.file}`)).toEqual(['error a.yaml', 'error z.yaml']);
      expect(errors[0]!.message).toContain('is also routed by VirtualService alpha/z (z.yaml:1), which is used for it');
      // A wildcard and an exact host do not conflict: the exact one wins, as in Istio.
      expect(createMeshConfig(list).virtualServiceFor('other.example.com')?.metadata.name).toBe('a');
      expect(createMeshConfig(list).virtualServiceFor('x.example.com')?.metadata.name).toBe('c');
    });
  }
});
