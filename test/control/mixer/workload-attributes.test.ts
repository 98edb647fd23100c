// The source workload's attributes the control plane derives from its
// registry (Mixer's kubernetesenv step): which workload a (source.ip,
// source.principal) names, what a rule then reads, what the Check answer
// says it depended on (the proxy's cache key), what the proxy is told to
// send, and the warning for a name nothing produces.
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../../control/config/parse-resources.js';
import { MapAttributeBag } from '../../../control/mixer/attribute-message.js';
import { buildPolicyConfig } from '../../../control/mixer/policy-config.js';
import { summarizePolicy } from '../../../control/mixer/policy-summary.js';
import { ReferenceRecorder } from '../../../control/mixer/reference-recorder.js';
import { WorkloadAttributeBag } from '../../../control/mixer/workload-attribute-bag.js';
import { MAX_REMEMBERED, meshWorkloads, WorkloadDirectory } from '../../../control/mixer/workload-directory.js';
import type { WorkloadInstance } from '../../../control/registry/registry-types.js';
import type { AttributeValue } from '../../../src/policy/attribute-value.js';
import { compileExpression } from '../../../src/policy/expression.js';
import { mixerDoc } from '../../support/mixer-config.js';

function workload(id: string, address: string, serviceAccount: string, labels: Record<string, string>, namespace = 'default'): WorkloadInstance {
  return { id, namespace, address, ports: {}, labels, serviceAccount, weight: 1 };
}

/** Two sidecars on one loopback address, a second replica of ratings, and a VM elsewhere. */
function registry() {
  const list: WorkloadInstance[] = [
    workload('productpage-1', '127.0.0.1', 'productpage', { app: 'productpage', version: 'v1' }),
    workload('ratings-1', '127.0.0.1', 'ratings', { app: 'ratings', version: 'v1' }),
    workload('ratings-2', '10.0.0.7', 'ratings', { app: 'ratings', version: 'v1' }),
    workload('shop/vm-1', '10.0.0.9', '', { app: 'legacy' }, 'shop'),
  ];
  return { version: 1, workloadsVersion: 1, list, workloads: () => list, allServices: () => [], endpoints: () => [] };
}

const values = (entries: Record<string, AttributeValue>) => new MapAttributeBag(new Map(Object.entries(entries)));

describe('WorkloadDirectory', () => {
  it('names the workload by principal, narrowed by address; without a principal, by address where the candidates agree', () => {
    const r = registry();
    const d = new WorkloadDirectory({ version: () => r.version, workloads: r.workloads });
    expect(d.lookup('127.0.0.1', 'cluster.local/ns/default/sa/ratings')).toEqual({
      labels: { app: 'ratings', version: 'v1' }, workloadName: 'ratings', namespace: 'default', workloadUid: 'istio://default/workloads/ratings',
      name: 'ratings-1', uid: 'isthmus://ratings-1',
    });
    // From an address none of its instances has: the identity alone; two replicas agree on all but the instance.
    expect(d.lookup('192.168.1.1', 'cluster.local/ns/default/sa/ratings')).toEqual({
      labels: { app: 'ratings', version: 'v1' }, workloadName: 'ratings', namespace: 'default', workloadUid: 'istio://default/workloads/ratings',
    });
    // One address, two workloads, no principal: only the namespace is sure.
    expect(d.lookup('127.0.0.1', undefined)).toEqual({ namespace: 'default' });
    expect(d.lookup('10.0.0.9', undefined)).toMatchObject({ labels: { app: 'legacy' }, workloadName: 'legacy', namespace: 'shop', name: 'vm-1' });
    // A principal that is no mesh identity, or one nobody has, names no workload; nor does nothing at all.
    expect(d.lookup('127.0.0.1', 'someone')).toEqual({});
    expect(d.lookup('127.0.0.1', 'cluster.local/ns/default/sa/nobody')).toEqual({});
    expect(d.lookup(undefined, undefined)).toEqual({});
  });

  it('forgets its answers when the registry changes, and keeps at most MAX_REMEMBERED of them', () => {
    const r = registry();
    const d = new WorkloadDirectory({ version: () => r.version, workloads: r.workloads });
    expect(d.lookup('10.0.0.9', undefined).workloadName).toBe('legacy');
    r.list[3] = workload('shop/vm-1', '10.0.0.9', '', { app: 'modern' }, 'shop');
    expect(d.lookup('10.0.0.9', undefined).workloadName).toBe('legacy'); // same version: remembered
    r.version++;
    expect(d.lookup('10.0.0.9', undefined).workloadName).toBe('modern');
    for (let i = 0; i < MAX_REMEMBERED + 10; i++) d.lookup(`10.1.${i >> 8}.${i & 255}`, undefined);
    expect((d as unknown as { rememberedCount: number }).rememberedCount).toBeLessThanOrEqual(MAX_REMEMBERED);
    const remembered = (d as unknown as { remembered: Map<string, Map<string, unknown>> }).remembered;
    expect([...remembered.values()].reduce((n, m) => n + m.size, 0)).toBeLessThanOrEqual(MAX_REMEMBERED);
  });

  it('meshWorkloads adds the connected proxies that are no endpoint (a client-only sidecar), with their service account', () => {
    const r = registry();
    const proxies = {
      nodeChanges: 0,
      connectedNodes: () => [
        { proxy: { id: 'ratings-1', namespace: 'default', labels: {} }, serviceAccount: 'ratings', registered: true },
        { proxy: { id: 'reviews-client', namespace: 'default', service: 'reviews', address: '127.0.0.1', labels: { app: 'reviews' } }, serviceAccount: 'reviews', registered: false },
      ],
    };
    const source = meshWorkloads(r, proxies);
    expect([...source.workloads()].map((w) => w.id)).toEqual(['productpage-1', 'ratings-1', 'ratings-2', 'shop/vm-1', 'reviews-client']);
    const d = new WorkloadDirectory(source);
    expect(d.lookup('127.0.0.1', 'cluster.local/ns/default/sa/reviews').workloadName).toBe('reviews');
    const before = source.version();
    proxies.nodeChanges++;
    expect(source.version()).not.toBe(before);
  });
});

describe('WorkloadDirectory.destination', () => {
  it('gives the statics a sidecar in front of the endpoint at that address and port would carry; services that share it keep what they agree on', () => {
    const endpoint = (address: string, port: number, app: string) => ({ host: '', workloadId: `${app}-1`, address, portByServicePort: { 80: port }, labels: { app }, serviceAccount: app, weight: 1 });
    const service = (host: string) => ({ host, namespace: 'shop', ports: [], addresses: [], source: 'config' });
    const d = new WorkloadDirectory({
      version: () => 1, workloads: () => [],
      services: () => [
        { service: service('cart.shop.svc.cluster.local'), endpoints: [endpoint('10.0.0.5', 8080, 'cart')] },
        { service: service('a.shop.svc.cluster.local'), endpoints: [endpoint('10.0.0.6', 9000, 'multi')] },
        { service: service('b.shop.svc.cluster.local'), endpoints: [endpoint('10.0.0.6', 9000, 'multi')] },
      ],
    });
    expect(d.destination('10.0.0.5', 8080)).toEqual({
      'destination.service.host': 'cart.shop.svc.cluster.local', 'destination.service.name': 'cart', 'destination.service.namespace': 'shop',
      'destination.labels': { app: 'cart' }, 'destination.workload.name': 'cart', 'destination.workload.namespace': 'shop', 'destination.namespace': 'shop',
      'destination.uid': 'isthmus://cart-1',
    });
    expect(d.destination('10.0.0.5', 8081)).toEqual({});
    const shared = d.destination('10.0.0.6', 9000);
    expect(shared['destination.service.host']).toBeUndefined();
    expect(shared['destination.workload.name']).toBe('multi');
  });
});

describe('WorkloadAttributeBag', () => {
  const r = registry();
  const directory = new WorkloadDirectory({ version: () => r.version, workloads: r.workloads });
  const rule = compileExpression('source.labels["app"] == "ratings" && source.workload.name != ""');

  it('answers a rule from the registry, and the Check depends on source.ip and source.principal, never on the derived names', () => {
    const refs = new ReferenceRecorder();
    const bag = new WorkloadAttributeBag(values({ 'source.ip': '127.0.0.1', 'source.principal': 'cluster.local/ns/default/sa/ratings' }), directory);
    refs.redirect = bag;
    expect(rule.evaluate(bag, refs)).toBe(true);
    expect(refs.matches()).toEqual([
      { name: 'source.ip', condition: 'EXACT', map_key: '' },
      { name: 'source.principal', condition: 'EXACT', map_key: '' },
    ]);
    // Without mTLS on a shared address the label is unknown: absent, and the answer depends on the principal's absence.
    refs.reset();
    const plain = new WorkloadAttributeBag(values({ 'source.ip': '127.0.0.1' }), directory);
    refs.redirect = plain;
    expect(rule.evaluate(plain, refs)).not.toBe(true); // an absent attribute: no match
    expect(refs.matches()).toEqual([
      { name: 'source.ip', condition: 'EXACT', map_key: '' },
      { name: 'source.principal', condition: 'ABSENCE', map_key: '' },
    ]);
  });

  it('keeps what the request carried, referenced as itself', () => {
    const refs = new ReferenceRecorder();
    const bag = new WorkloadAttributeBag(values({ 'source.ip': '127.0.0.1', 'source.labels': { app: 'ratings' }, 'source.workload.name': 'x' }), directory);
    refs.redirect = bag;
    expect(rule.evaluate(bag, refs)).toBe(true);
    expect(refs.matches().map((m) => `${m.name}[${m.map_key}] ${m.condition}`)).toEqual(['source.labels[app] EXACT', 'source.workload.name[] EXACT']);
  });
});

describe('policy over workload attributes', () => {
  const text = [
    mixerDoc('handler', 'deny', 'compiledAdapter: denier\nparams:\n  status: { code: 7 }'),
    mixerDoc('instance', 'nothing', 'compiledTemplate: checknothing'),
    mixerDoc('rule', 'by-label', 'match: source.labels["app"] == "ratings" && source.workload.namespace == "default"\nactions:\n- handler: deny\n  instances: [nothing]'),
    mixerDoc('rule', 'by-owner', 'match: source.owner == "x"\nactions:\n- handler: deny\n  instances: [nothing]'),
  ].join('---\n');

  it('has the proxy send what the control plane looks workloads up by, instead of names it cannot compute', () => {
    expect(summarizePolicy(buildPolicyConfig(parseResources(text, 'p.yaml'))).checkAttributes).toEqual([
      'source.ip', 'source.owner', 'source.principal', 'source.workload.namespace',
    ]);
  });

  it('warns about a rule reading a name nothing in the mesh produces (and only that one)', () => {
    const findings = buildPolicyConfig(parseResources(text, 'p.yaml')).findings;
    expect(findings.map((f) => [f.resource.metadata.name, f.path, f.severity, f.message])).toEqual([
      ['by-owner', 'spec.match', 'warning', 'spec.match reads source.owner, which no proxy or control plane of this mesh produces: it is always absent'],
    ]);
  });
});
