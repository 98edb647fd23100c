// Mixer's policy kinds (config.istio.io/v1alpha2 handler, instance, rule)
// read by the control plane's parser: the examples parse clean; every mistake
// names its file, line and field, and for an expression its column.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeResources, formatAnalysisProblem } from '../../../control/config/analyze.js';
import type { IstioResource, PolicyHandler, PolicyInstance, PolicyRule } from '../../../control/config/istio-types.js';
import { loadResourceDir, parseResources, readResources } from '../../../control/config/parse-resources.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/policy', import.meta.url));
const V = 'apiVersion: config.istio.io/v1alpha2';

/** The problems of one file, formatted as the CLI prints them. */
function problems(text: string): string[] {
  return readResources(text, 'policy.yaml').problems.map((p) => `${p.file}:${p.line}: ${p.message}`);
}

function analyze(text: string): string[] {
  return analyzeResources(parseResources(text, 'policy.yaml')).map(formatAnalysisProblem);
}

const DENIER = `${V}\nkind: handler\nmetadata: {name: denyall}\nspec:\n  compiledAdapter: denier\n`;
const CHECKNOTHING = `${V}\nkind: instance\nmetadata: {name: req}\nspec:\n  compiledTemplate: checknothing\n`;
const rule = (match: string, handler = 'denyall', instances = '[req]'): string =>
  `${V}\nkind: rule\nmetadata: {name: r1}\nspec:\n  match: ${match}\n  actions:\n  - handler: ${handler}\n    instances: ${instances}\n`;

describe('handler, instance and rule', () => {
  it('parse the examples clean, typed and frozen', async () => {
    const resources = await loadResourceDir(FIXTURES);
    expect(analyzeResources(resources)).toEqual([]);
    const find = <T extends IstioResource>(kind: string, name: string): T => resources.find((r) => r.kind === kind && r.metadata.name === name) as T;
    const denier = find<PolicyHandler>('handler', 'denyall');
    expect(denier.apiVersion).toBe('config.istio.io/v1alpha2');
    expect(denier.spec).toEqual({ adapter: 'denier', params: { code: 7, message: 'not allowed', validDurationMs: 10_000, validUseCount: 100 } });
    expect(Object.isFrozen(denier.spec)).toBe(true);
    expect(find<PolicyInstance>('instance', 'accesslog').spec).toEqual({
      template: 'logentry',
      params: {
        severity: 'conditional(response.code >= 500, "Error", "Info")',
        timestamp: 'request.time',
        variables: { path: 'request.path | ""', latency: 'response.duration | duration("0s")', user: 'request.headers["x-user"] | "anonymous"' },
      },
    });
    expect(find<PolicyRule>('rule', 'telemetry').spec.actions).toEqual([
      { handler: 'prom', instances: ['requestcount'] },
      { handler: 'console.istio-system', instances: ['accesslog.istio-system'] },
    ]);
    expect(find<PolicyRule>('rule', 'quota').spec.match).toBe('');
  });

  it("names the column of a rule's bad match expression, and its line inside a | block", () => {
    expect(problems(`${DENIER}---\n${CHECKNOTHING}---\n${rule('request.pth == "/admin"')}`)).toEqual([
      "policy.yaml:17: spec.match at column 1: unknown attribute 'request.pth' (did you mean 'request.path'?)",
    ]);
    expect(problems(rule("'request.size == \"big\"'"))).toEqual(['policy.yaml:5: spec.match at column 14: cannot compare INT64 and STRING with \'==\'']);
    const block = `${V}\nkind: rule\nmetadata: {name: r1}\nspec:\n  match: |\n    request.method == "GET" &&\n    request.path.matches("(unclosed")\n  actions:\n  - {handler: h, instances: [i]}\n`;
    expect(problems(block)).toEqual([expect.stringMatching(/^policy\.yaml:7: spec\.match at column 49: the regex is not a valid regular expression \(RE2 syntax\): /)]);
    expect(problems(rule('request.path'))).toEqual(["policy.yaml:5: spec.match is STRING; a rule's match must be BOOL (the expression: request.path)"]);
  });

  it('types instance params per template', () => {
    const listentry = (value: string) => `${V}\nkind: instance\nmetadata: {name: i}\nspec:\n  compiledTemplate: listentry\n  params:\n    value: ${value}\n`;
    expect(problems(listentry('source.ip'))).toEqual([]);
    expect(problems(listentry('request.size'))).toEqual([
      'policy.yaml:7: spec.params.value is INT64; listentry.value must be STRING or IP_ADDRESS (the expression: request.size)',
    ]);
    expect(problems(`${V}\nkind: instance\nmetadata: {name: i}\nspec:\n  compiledTemplate: listentry\n`)).toEqual([
      'policy.yaml:5: spec.params is required: a listentry instance needs value',
    ]);
    const quota = `${V}\nkind: instance\nmetadata: {name: q}\nspec:\n  template: quota\n  params:\n    dimensions:\n      user: request.headers["x-user"] | "-"\n      bad: source.nmespace\n`;
    expect(problems(quota)).toEqual([
      "policy.yaml:9: spec.params.dimensions.bad at column 1: unknown attribute 'source.nmespace' (did you mean 'source.namespace'?)",
    ]);
    const auth = `${V}\nkind: instance\nmetadata: {name: a}\nspec:\n  template: authorization\n  params:\n    subject: {user: source.principal, role: x}\n    action: {path: request.size}\n`;
    expect(problems(auth)).toEqual([
      "policy.yaml:7: spec.params.subject.role is not supported",
      'policy.yaml:8: spec.params.action.path is INT64; authorization.action.path must be STRING (the expression: request.size)',
    ]);
    expect(problems(`${V}\nkind: instance\nmetadata: {name: i}\nspec:\n  compiledTemplate: listentri\n  params: {value: source.ip}\n`)[0])
      .toMatch(/^policy\.yaml:5: spec\.compiledTemplate must be one of checknothing, listentry, quota, metric, logentry, authorization/);
  });

  it("has each handler's params checked by its adapter, at the param's line", () => {
    const denier = `${V}\nkind: handler\nmetadata: {name: d}\nspec:\n  compiledAdapter: denier\n  params:\n    status:\n      code: 99\n`;
    expect(problems(denier)).toEqual([expect.stringMatching(/^policy\.yaml:8: spec\.params\.status\.code .*16.*\(adapter denier\)$/)]);
    expect(problems(`${V}\nkind: handler\nmetadata: {name: d}\nspec:\n  compiledAdapter: denyer\n`)).toEqual([
      expect.stringMatching(/^policy\.yaml:5: spec\.compiledAdapter names no adapter: "denyer" \(did you mean "denier"\?\); adapters: .*denier.*memquota/),
    ]);
    expect(problems(`${V}\nkind: handler\nmetadata: {name: d}\nspec:\n  compiledAdapter: denier\n  adapter: denier\n`)).toEqual([
      'policy.yaml:6: spec sets compiledAdapter and adapter; only one of compiledAdapter, adapter is allowed',
    ]);
  });

  it('checks rule shapes and the apiVersion of the policy kinds', () => {
    expect(problems(`${V}\nkind: rule\nmetadata: {name: r}\nspec:\n  actions: []\n`)).toEqual(['policy.yaml:5: spec.actions must list at least one action']);
    expect(problems(rule('true', 'Deny_All'))).toEqual(['policy.yaml:7: spec.actions[0].handler is not a resource name ("name" or "name.namespace"): "Deny_All"']);
    expect(problems(DENIER.replace(V, 'apiVersion: networking.istio.io/v1'))).toEqual([
      'policy.yaml:1: apiVersion "networking.istio.io/v1" does not serve handler (config.istio.io/v1alpha2)',
    ]);
    expect(problems(CHECKNOTHING.replace('instance', 'Instance'))[0]).toMatch(/^policy\.yaml:2: kind "Instance" is not supported \(supported kinds: .*handler, instance, rule\)/);
  });

  it("resolves Istio's short names, and reports what a rule names but nothing defines", () => {
    const other = `${V}\nkind: instance\nmetadata: {name: req, namespace: other}\nspec:\n  compiledTemplate: checknothing\n`;
    expect(analyze(`${DENIER}---\n${CHECKNOTHING}---\n${other}---\n${rule('true', 'denyall.denier', '[req.other, req.checknothing.default]')}`)).toEqual([]);
    expect(analyze(`${DENIER}---\n${rule('true', 'denyal')}`)).toEqual([
      'policy.yaml:13: spec.actions[0].handler "denyal" names no handler (looked for denyal.default; handlers: denyall.default); this action is skipped',
    ]);
    expect(analyze(`${DENIER}---\n${CHECKNOTHING}---\n${rule('true', 'denyall', '[req.listentry]')}`)).toEqual([
      'policy.yaml:20: spec.actions[0].instances[0] "req.listentry" names no instance (looked for req.listentry, or req.default of kind listentry); this action is skipped',
    ]);
    const metric = `${V}\nkind: instance\nmetadata: {name: m}\nspec:\n  compiledTemplate: metric\n  params: {value: "1"}\n`;
    expect(analyze(`${DENIER}---\n${metric}---\n${rule('true', 'denyall', '[m]')}`)).toEqual([
      'policy.yaml:21: spec.actions[0].instances[0] "m" is a metric instance, which handler denyall.default (adapter denier) does not take (it takes checknothing, listentry, quota); this action is skipped',
    ]);
  });
});
