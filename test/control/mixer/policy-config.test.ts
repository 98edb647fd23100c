// The policy compiled from the served handler/instance/rule resources: what
// the Mixer service runs (rules with compiled matches, instances with typed
// fields) and what the proxy's filter is configured from (summarizePolicy).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadResourceDir, parseResources } from '../../../control/config/parse-resources.js';
import { buildPolicyConfig, type InstanceField } from '../../../control/mixer/policy-config.js';
import { summarizePolicy } from '../../../control/mixer/policy-summary.js';
import type { AttributeBag, AttributeValue } from '../../../src/policy/attribute-value.js';

const FIXTURES = fileURLToPath(new URL('../config/fixtures/policy', import.meta.url));

function bag(values: Record<string, AttributeValue>): AttributeBag {
  return { get: (name) => values[name] };
}

function headers(entries: Record<string, string>): Record<string, string> {
  return Object.assign(Object.create(null) as Record<string, string>, entries);
}

describe('buildPolicyConfig', () => {
  it('compiles the served rules, resolving short names, in namespace/name order', async () => {
    const config = buildPolicyConfig(await loadResourceDir(FIXTURES));
    expect(config.findings).toEqual([]);
    expect(config.rules.map((r) => `${r.name} -> ${r.actions.map((a) => `${a.handler}(${a.instances.map((i) => i.name).join(',')})`).join(' ')}`)).toEqual([
      'reviews-internal-only.default -> internal-ips.default(sourceip.default)',
      'deny-mallory.istio-system -> denyall.istio-system(denyrequest.istio-system)',
      'quota.istio-system -> quotahandler.istio-system(requestquota.istio-system)',
      'telemetry.istio-system -> prom.istio-system(requestcount.istio-system) console.istio-system(accesslog.istio-system)',
    ]);
    const deny = config.rules[1]!;
    expect(deny.match!.evaluate(bag({ 'request.headers': headers({ 'x-user': 'mallory' }) }))).toBe(true);
    expect(deny.match!.evaluate(bag({ 'request.headers': headers({ 'x-user': 'alice' }), 'request.method': 'POST', 'request.path': '/admin/x' }))).toBe(true);
    expect(deny.match!.evaluate(bag({ 'request.headers': headers({ 'x-user': 'alice' }), 'request.method': 'GET' }))).toBe(false);
    expect(config.rules[2]!.match).toBeNull();
    const handler = config.handlers.get('denyall.istio-system')!;
    expect(handler).toMatchObject({ adapter: 'denier', params: { code: 7, validUseCount: 100 }, templates: ['checknothing', 'listentry', 'quota'] });
    expect(Object.isFrozen(config.rules)).toBe(true);
  });

  it('types each instance field and lists the attributes it reads', async () => {
    const config = buildPolicyConfig(await loadResourceDir(FIXTURES));
    const log = config.instances.get('accesslog.istio-system')!;
    expect(log.template).toBe('logentry');
    expect(log.valueTypes).toEqual({
      severity: 'STRING', timestamp: 'TIMESTAMP', 'variables.path': 'STRING', 'variables.latency': 'DURATION', 'variables.user': 'STRING',
    });
    expect(log.attributes).toEqual(['request.headers', 'request.path', 'request.time', 'response.code', 'response.duration']);
    const variables = log.fields.get('variables') as Extract<InstanceField, { kind: 'map' }>;
    const user = variables.fields.get('user') as Extract<InstanceField, { kind: 'expression' }>;
    expect(user.expression.evaluate(bag({ 'request.headers': headers({}) }))).toBe('anonymous');
    const metric = config.instances.get('requestcount.istio-system')!;
    expect(metric.valueTypes).toEqual({ value: 'INT64', 'dimensions.code': 'INT64', 'dimensions.method': 'STRING' });
  });

  it('drops an action whose handler is missing and keeps the others', () => {
    const V = 'apiVersion: config.istio.io/v1alpha2';
    const text = [
      `${V}\nkind: handler\nmetadata: {name: d}\nspec: {compiledAdapter: denier}`,
      `${V}\nkind: instance\nmetadata: {name: i}\nspec: {compiledTemplate: checknothing}`,
      `${V}\nkind: rule\nmetadata: {name: r}\nspec:\n  actions:\n  - {handler: gone, instances: [i]}\n  - {handler: d, instances: [i]}`,
    ].join('\n---\n');
    const config = buildPolicyConfig(parseResources(text, 'p.yaml'));
    expect(config.rules[0]!.actions.map((a) => a.handler)).toEqual(['d.default']);
    expect(config.findings.map((f) => `${f.path}: ${f.message}`)).toEqual([
      'spec.actions[0].handler: spec.actions[0].handler "gone" names no handler (looked for gone.default; handlers: d.default); this action is skipped',
    ]);
  });
});

describe('summarizePolicy', () => {
  it('names the attributes Check and Report need, and the quotas to ask for', async () => {
    expect(summarizePolicy(buildPolicyConfig(await loadResourceDir(FIXTURES)))).toEqual({
      checkAttributes: ['destination.service.host', 'request.headers', 'request.method', 'request.path', 'source.ip', 'source.namespace'],
      reportAttributes: ['context.protocol', 'request.headers', 'request.method', 'request.path', 'request.time', 'response.code', 'response.duration'],
      quotas: [{ quota: 'requestquota.istio-system', charge: 1 }],
      hasCheckRules: true,
      hasReportRules: true,
    });
    expect(summarizePolicy(buildPolicyConfig([]))).toEqual({ checkAttributes: [], reportAttributes: [], quotas: [], hasCheckRules: false, hasReportRules: false });
  });
});
