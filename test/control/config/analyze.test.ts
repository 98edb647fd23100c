import { describe, expect, it } from 'vitest';
import { analyzeResources, formatAnalysisProblem, type AnalysisProblem } from '../../../control/config/analyze.js';
import type { IstioResource } from '../../../control/config/istio-types.js';
import { parseResources } from '../../../control/config/parse-resources.js';

const V = 'apiVersion: networking.istio.io/v1beta1';

function serviceEntry(name: string, hosts: string, ns = 'default'): string {
  return `${V}\nkind: ServiceEntry\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  hosts: ${hosts}\n  ports: [{number: 9080, name: http, protocol: HTTP}]\n`;
}

function destinationRule(name: string, host: string, subsets: string[]): string {
  const list = subsets.map((s) => `  - {name: ${s}, labels: {version: ${s}}}`).join('\n');
  return `${V}\nkind: DestinationRule\nmetadata: {name: ${name}}\nspec:\n  host: ${host}\n  subsets:\n${list}\n`;
}

function virtualService(name: string, host: string, routes: string[]): string {
  return `${V}\nkind: VirtualService\nmetadata: {name: ${name}}\nspec:\n  hosts: [${host}]\n  http:\n  - route:\n${routes.map((r) => `    - ${r}`).join('\n')}\n`;
}

/** Parses each file with the real parser, then analyzes all of them together. */
function analyze(files: Record<string, string>): string[] {
  const resources: IstioResource[] = [];
  for (const [name, text] of Object.entries(files)) resources.push(...parseResources(text, name));
  return analyzeResources(resources).map(formatAnalysisProblem);
}

const REVIEWS_SE = serviceEntry('reviews', '[reviews]');
const REVIEWS_DR = destinationRule('reviews', 'reviews', ['v1', 'v2']);

describe('analyzeResources', () => {
  it('finds nothing wrong in a consistent set', () => {
    const vs = virtualService('reviews', 'reviews', [
      '{destination: {host: reviews, subset: v1}, weight: 90}',
      '{destination: {host: reviews.default.svc.cluster.local, subset: v2}, weight: 10}',
    ]);
    expect(analyze({ 'se.yaml': REVIEWS_SE, 'dr.yaml': REVIEWS_DR, 'vs.yaml': vs })).toEqual([]);
  });

  it('warns about a route to a host no ServiceEntry defines (IST0101)', () => {
    const vs = virtualService('reviews', 'reviews', ['destination: {host: ratings}']);
    expect(analyze({ 'se.yaml': REVIEWS_SE, 'vs.yaml': vs })).toEqual([
      'vs.yaml:8: warning: spec.http[0].route[0].destination.host "ratings" (ratings.default.svc.cluster.local) is not defined by any ServiceEntry (IST0101 ReferencedResourceNotFound; a proxy registering for it would define it)',
    ]);
  });

  it('accepts a host covered by a wildcard ServiceEntry host', () => {
    const vs = virtualService('api', 'api.example.com', ['destination: {host: api.example.com}']);
    expect(analyze({ 'se.yaml': serviceEntry('ext', '["*.example.com"]'), 'vs.yaml': vs })).toEqual([]);
  });

  it('reports a subset the host\'s DestinationRule does not define, and a subset with no DestinationRule', () => {
    const vs = virtualService('reviews', 'reviews', [
      '{destination: {host: reviews, subset: v1}, weight: 50}',
      '{destination: {host: reviews, subset: v4}, weight: 50}',
    ]);
    expect(analyze({ 'se.yaml': REVIEWS_SE, 'dr.yaml': REVIEWS_DR, 'vs.yaml': vs })).toEqual([
      'vs.yaml:9: spec.http[0].route[1].destination.subset "v4" is not defined by DestinationRule default/reviews (dr.yaml:1; its subsets: v1, v2)',
    ]);
    const lone = virtualService('reviews', 'reviews', ['destination: {host: reviews, subset: v1}']);
    expect(analyze({ 'se.yaml': REVIEWS_SE, 'vs.yaml': lone })).toEqual([
      'vs.yaml:8: spec.http[0].route[0].destination.subset "v1" is not defined: no DestinationRule has host reviews.default.svc.cluster.local',
    ]);
  });

  it('checks the mirror destination too', () => {
    const vs = `${virtualService('reviews', 'reviews', ['destination: {host: reviews, subset: v1}'])}    mirror: {host: reviews, subset: v9}\n`;
    expect(analyze({ 'se.yaml': REVIEWS_SE, 'dr.yaml': REVIEWS_DR, 'vs.yaml': vs })).toEqual([
      'vs.yaml:9: spec.http[0].mirror.subset "v9" is not defined by DestinationRule default/reviews (dr.yaml:1; its subsets: v1, v2)',
    ]);
  });

  it('reports two DestinationRules for the same host', () => {
    const other = destinationRule('reviews-2', 'reviews.default.svc.cluster.local', ['v3']);
    expect(analyze({ 'a.yaml': REVIEWS_SE, 'b.yaml': REVIEWS_DR, 'c.yaml': other })).toEqual([
      'c.yaml:5: spec.host reviews.default.svc.cluster.local is also configured by DestinationRule default/reviews (b.yaml:1); merge them into one DestinationRule',
    ]);
  });

  it('warns about a DestinationRule for an undefined host', () => {
    expect(analyze({ 'dr.yaml': REVIEWS_DR })).toEqual([
      'dr.yaml:5: warning: spec.host reviews.default.svc.cluster.local is not defined by any ServiceEntry (IST0101 ReferencedResourceNotFound; a proxy registering for it would define it)',
    ]);
  });

  it('reports ServiceEntries claiming the same host, written short or in full', () => {
    const second = serviceEntry('reviews-b', '[reviews.default.svc.cluster.local, reviews.default.svc.cluster.local]');
    expect(analyze({ 'a.yaml': REVIEWS_SE, 'b.yaml': second })).toEqual([
      'b.yaml:5: spec.hosts[0] reviews.default.svc.cluster.local is also defined by ServiceEntry default/reviews (a.yaml:1); a host belongs to one ServiceEntry',
      'b.yaml:5: spec.hosts[1] reviews.default.svc.cluster.local is also defined by ServiceEntry default/reviews (a.yaml:1); a host belongs to one ServiceEntry',
    ]);
    // The same short name in another namespace is another host.
    expect(analyze({ 'a.yaml': REVIEWS_SE, 'b.yaml': serviceEntry('reviews', '[reviews]', 'shop') })).toEqual([]);
  });

  it('reports a name used twice within a kind and namespace, not across kinds', () => {
    const vs = virtualService('reviews', 'reviews', ['destination: {host: reviews}']);
    const vs2 = virtualService('reviews', 'reviews-alt', ['destination: {host: reviews}']);
    expect(analyze({ 'a.yaml': `${REVIEWS_SE}---\n${vs}`, 'b.yaml': vs2 })).toEqual([
      'b.yaml:3: VirtualService default/reviews is defined twice (also at a.yaml:8)',
    ]);
  });

  it('reports two VirtualServices routing the same host (IST0109, an error), naming the one the proxies get', () => {
    const a = virtualService('a', 'reviews', ['destination: {host: reviews}']);
    const b = virtualService('b', 'reviews.default.svc.cluster.local', ['destination: {host: reviews}']);
    const fix = 'IST0109 ConflictingMeshGatewayVirtualServiceHosts: the VirtualService served longest, then the first by namespace and name, routes a host; merge them into one, or give each its own hosts';
    const expected = [
      `a.yaml:5: spec.hosts[0] reviews.default.svc.cluster.local is also routed by VirtualService default/b (b.yaml:1), which is ignored for it; this VirtualService is used for that host (${fix})`,
      `b.yaml:5: spec.hosts[0] reviews.default.svc.cluster.local is also routed by VirtualService default/a (a.yaml:1), which is used for it; this VirtualService is ignored for that host (${fix})`,
    ];
    expect(analyze({ 'se.yaml': REVIEWS_SE, 'a.yaml': a, 'b.yaml': b })).toEqual(expected);
    // The order of files does not decide: the translation's order (namespace, name) does.
    expect(analyze({ 'se.yaml': REVIEWS_SE, 'b.yaml': b, 'a.yaml': a })).toEqual(expected);
  });

  it('reports weights that do not sum to 100, only when a route has several destinations', () => {
    const vs = virtualService('reviews', 'reviews', [
      '{destination: {host: reviews, subset: v1}, weight: 80}',
      '{destination: {host: reviews, subset: v2}, weight: 10}',
    ]);
    expect(analyze({ 'se.yaml': REVIEWS_SE, 'dr.yaml': REVIEWS_DR, 'vs.yaml': vs })).toEqual([
      'vs.yaml:8: spec.http[0].route weights sum to 90 (80 + 10), not 100',
    ]);
    const single = virtualService('reviews', 'reviews', ['{destination: {host: reviews}, weight: 30}']);
    expect(analyze({ 'se.yaml': REVIEWS_SE, 'vs.yaml': single })).toEqual([]);
  });

  it('formats warnings and errors, and problems without a line', () => {
    const p: AnalysisProblem = { file: 'x.yaml', line: null, severity: 'error', message: 'cannot read the file: EACCES' };
    expect(formatAnalysisProblem(p)).toBe('x.yaml: cannot read the file: EACCES');
    expect(formatAnalysisProblem({ ...p, line: 3, severity: 'warning' })).toBe('x.yaml:3: warning: cannot read the file: EACCES');
  });
});
