// Config names that are also Object.prototype members (constructor,
// toString, __proto__) must be refused by field like any unknown name, not
// found in a lookup table's prototype and accepted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { rmSync } from 'node:fs';
import { ConfigError } from '../../src/config/config-error.js';
import { parseBootstrap } from '../../src/config/parse-bootstrap.js';
import { chainsListener, downstreamTls, staticCluster } from '../support/tls-bootstrap.js';
import { TestCa, type Pem } from '../support/tls-certs.js';
import { problemLines } from './bootstrap-text.js';

let ca: TestCa;
let server: Pem;
const ROUTES = { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }] };

beforeAll(() => {
  ca = new TestCa();
  server = ca.leaf({ cn: 'server', dns: ['localhost'] });
}, 30_000);
afterAll(() => rmSync(ca.dir, { recursive: true, force: true }));

function problemsOf(listeners: unknown[]): string {
  const text = stringify({ static_resources: { listeners, clusters: [staticCluster('backend', 9000)] } }, { lineWidth: 0, aliasDuplicateObjects: false });
  try {
    parseBootstrap(text, 'b.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => `${p.path} ${p.message}`).join('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('config names shaped like Object.prototype members', () => {
  it('a listener filter named constructor is refused', () => {
    const all = problemsOf([{ ...chainsListener('c', [{}], ROUTES, false), listener_filters: [{ name: 'constructor' }] }]);
    expect(all).toMatch(/names "constructor"; the supported listener filters are/);
  });

  it('tls_minimum_protocol_version: toString is refused', () => {
    const tls = downstreamTls({ certificates: [server] });
    ((tls.typed_config as Record<string, Record<string, unknown>>).common_tls_context!).tls_params = { tls_minimum_protocol_version: 'toString' };
    const all = problemsOf([chainsListener('b', [{ transportSocket: tls }], ROUTES, false)]);
    expect(all).toMatch(/tls_minimum_protocol_version must be one of .*\(got "toString"\)/);
  });

  it('a local_ratelimit status code named constructor is refused', () => {
    const lines = problemLines({
      httpFilters: [{
        name: 'envoy.filters.http.local_ratelimit',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
          stat_prefix: 'rl', token_bucket: { max_tokens: 5, fill_interval: '2s' }, status: { code: 'constructor' },
        },
      }, { name: 'envoy.filters.http.router' }],
    }).join('\n');
    expect(lines).toMatch(/status\.code must be a status code 200-599 or a StatusCode name/);
  });
});
