// VirtualService HTTP routes: text that becomes part of an HTTP head
// (rewrite, redirect, header operations, CORS lists) must not carry CR, LF,
// NUL or other characters that would split a head; each is reported with its
// file, line and path, as `isthmus analyze` and the control plane print it.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.js';
import type { VirtualService } from '../../../control/config/istio-types.js';
import { parseResources } from '../../../control/config/parse-resources.js';

const VS_HEAD = 'apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [reviews]\n  http:\n';

function problemsOf(text: string): string[] {
  try {
    parseResources(text, 'vs.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n').slice(1);
  }
  throw new Error('expected a ConfigError');
}

describe('VirtualService text written into heads', () => {
  it('refuses CR/LF in rewrite.uri and rewrite.authority', () => {
    const text = `${VS_HEAD}  - route: [{destination: {host: reviews}}]\n    rewrite:\n      uri: "/v2\\r\\nx-injected: 1"\n      authority: "a\\nb"\n`;
    expect(problemsOf(text)).toEqual([
      'vs.yaml:9: spec.http[0].rewrite.uri must be printable ASCII with no spaces or control characters (it contains CR); percent-encode other characters',
      'vs.yaml:10: spec.http[0].rewrite.authority must be printable ASCII with no spaces or control characters (it contains LF); percent-encode other characters',
    ]);
  });

  it('refuses CR/LF in redirect.uri and redirect.authority', () => {
    const text = `${VS_HEAD}  - redirect:\n      uri: "/x\\r\\nset-cookie: a=b"\n      authority: "h\\u010ax"\n`;
    expect(problemsOf(text)).toEqual([
      'vs.yaml:8: spec.http[0].redirect.uri must be printable ASCII with no spaces or control characters (it contains CR); percent-encode other characters',
      'vs.yaml:9: spec.http[0].redirect.authority must be printable ASCII with no spaces or control characters (it contains U+010A); percent-encode other characters',
    ]);
  });

  it('refuses CR/LF in header operation values and CORS header lists', () => {
    const text = `${VS_HEAD}  - route:\n    - destination: {host: reviews}\n      headers: {response: {set: {x-a: "1\\r\\nx-injected: 1"}}}\n` +
      `    headers: {request: {add: {x-b: "2\\u0000"}}}\n    corsPolicy: {exposeHeaders: ["x-c\\nx-injected: 1"]}\n`;
    const problems = problemsOf(text);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^vs\.yaml:9: spec\.http\[0\]\.route\[0\]\.headers\.response\.set(\.|\[")x-a("\])? must not contain CR, LF, NUL, other control characters \(it contains CR\)$/);
    expect(problems[1]).toMatch(/^vs\.yaml:10: spec\.http\[0\]\.headers\.request\.add(\.|\[")x-b("\])? must not contain CR, LF, NUL, other control characters \(it contains NUL\)$/);
    expect(problems[2]).toBe('vs.yaml:11: spec.http[0].corsPolicy.exposeHeaders[0] must not contain CR, LF, NUL, other control characters or characters above U+00FF (it contains LF)');
  });

  it('reads ordinary rewrites, redirects and header values', () => {
    const text = `${VS_HEAD}  - route: [{destination: {host: reviews}}]\n    rewrite: {uri: /v2/, authority: "reviews.example:8080"}\n` +
      '    headers: {request: {set: {x-a: "tab\\there, café"}}}\n';
    const vs = parseResources(text, 'vs.yaml')[0] as VirtualService;
    expect(vs.spec.http[0]!.rewrite).toEqual({ uri: '/v2/', authority: 'reviews.example:8080' });
    expect(vs.spec.http[0]!.headers.request.set).toEqual([{ name: 'x-a', value: 'tab\there, café' }]);
  });
});
