// The TLS parts of Envoy config: DownstreamTlsContext on filter chains,
// UpstreamTlsContext on clusters, filter_chain_match and the tls_inspector.
// Good config reads into typed values (PEM from files and inline); bad config
// is refused at its file, line and field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { rmSync } from 'node:fs';
import { ConfigError, type ConfigProblem } from '../../src/config/config-error.js';
import { parseBootstrap } from '../../src/config/parse-bootstrap.js';
import { chainsListener, downstreamTls, staticCluster, upstreamTls } from '../support/tls-bootstrap.js';
import { TestCa, type Pem } from '../support/tls-certs.js';

let ca: TestCa;
let server: Pem;
let other: Pem;
const ROUTES = { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }] };

beforeAll(() => {
  ca = new TestCa();
  server = ca.leaf({ cn: 'server', dns: ['localhost'] });
  other = ca.leaf({ cn: 'other', dns: ['other'] });
}, 30_000);
afterAll(() => rmSync(ca.dir, { recursive: true, force: true }));

function yamlOf(listeners: unknown[], clusters: unknown[] = [staticCluster('backend', 9000)]): string {
  return stringify({ static_resources: { listeners, clusters } }, { lineWidth: 0, aliasDuplicateObjects: false });
}

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseBootstrap(text, 'b.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

/** The line (1-based) of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string, from = 0): number {
  const i = text.indexOf(needle, from);
  expect(i).toBeGreaterThanOrEqual(0);
  return text.slice(0, i).split('\n').length;
}

describe('TLS config: accepted', () => {
  it('reads a TLS chain beside a plaintext one behind the tls_inspector, and an upstream context', () => {
    const tlsSocket = downstreamTls({ certificates: [server], trustedCaPath: ca.certPath, requireClientCertificate: true, alpn: ['h2', 'http/1.1'] });
    const b = parseBootstrap(yamlOf(
      [chainsListener('edge', [{ match: { transport_protocol: 'tls', server_names: ['*.Example.com'] }, transportSocket: tlsSocket }, { match: { transport_protocol: 'raw_buffer' } }], ROUTES, true)],
      [staticCluster('backend', 9000, upstreamTls(ca.certPath, 'backend.test', { type: 'URI', prefix: 'spiffe://td/' }))],
    ), 'b.yaml');
    const l = b.listeners[0]!;
    expect(l.tlsInspector).toBe(true);
    expect(l.filterChains).toHaveLength(2);
    expect(l.filterChains[0]!.match).toEqual({ serverNames: ['*.example.com'], transportProtocol: 'tls', applicationProtocols: [] });
    const tls = l.filterChains[0]!.tls!;
    expect(tls.certificates[0]!.chainPath).toBe(server.certPath);
    expect(tls.certificates[0]!.chainPem).toBe(server.cert);
    expect(tls.requireClientCertificate).toBe(true);
    expect(tls.alpn).toEqual(['h2', 'http/1.1']);
    expect(l.filterChains[1]!.tls).toBeNull();
    const up = b.clusters[0]!.tls!;
    expect(up.sni).toBe('backend.test');
    expect(up.sanMatchers).toEqual([{ type: 'URI', kind: 'prefix', value: 'spiffe://td/', ignoreCase: false }]);
  });

  it('reads inline PEM and TLS versions', () => {
    const socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { inline_string: server.cert }, private_key: { inline_string: server.key } }],
          tls_params: { tls_minimum_protocol_version: 'TLSv1_3', tls_maximum_protocol_version: 'TLSv1_3' },
        },
      },
    };
    const tls = parseBootstrap(yamlOf([chainsListener('edge', [{ transportSocket: socket }], ROUTES, false)]), 'b.yaml').listeners[0]!.filterChains[0]!.tls!;
    expect(tls.certificates[0]!.chainPath).toBeNull();
    expect([tls.minVersion, tls.maxVersion]).toEqual([0x0304, 0x0304]);
  });
});

describe('TLS config: refused at file, line and field', () => {
  it('a key that does not match its certificate, a missing file, and an unknown field', () => {
    const mismatched = downstreamTls({ certificates: [{ certPath: server.certPath, keyPath: other.keyPath }] });
    const missing = downstreamTls({ certificates: [{ certPath: '/nonexistent/cert.pem', keyPath: server.keyPath }] });
    const unknown = downstreamTls({ certificates: [server] });
    (unknown.typed_config as Record<string, unknown>).ocsp_staple_policy = 'STRICT_STAPLING';
    const text = yamlOf([
      chainsListener('a', [{ transportSocket: mismatched }], ROUTES, false),
      chainsListener('b', [{ transportSocket: missing }], ROUTES, false),
      chainsListener('c', [{ transportSocket: unknown }], ROUTES, false),
    ]);
    const problems = problemsOf(text);
    const text0 = problems.map((p) => `${p.line}: ${p.path} ${p.message}`).join('\n');
    expect(text0).toMatch(/does not match the certificate/);
    expect(text0).toMatch(/\/nonexistent\/cert\.pem, which cannot be read \(ENOENT\)/);
    expect(problems.find((p) => p.path.endsWith('ocsp_staple_policy'))?.message).toMatch(/is not supported/);
    expect(problems.find((p) => p.message.includes('ENOENT'))!.line).toBe(lineOf(text, 'filename: /nonexistent/cert.pem'));
  });

  it('require_client_certificate without a trusted CA, TLS 1.0, a regex SAN matcher and a bad transport_protocol', () => {
    const noCa = downstreamTls({ certificates: [server], requireClientCertificate: true });
    const old = downstreamTls({ certificates: [server] });
    ((old.typed_config as Record<string, Record<string, unknown>>).common_tls_context!).tls_params = { tls_minimum_protocol_version: 'TLSv1_0' };
    const regexCluster = staticCluster('backend', 9000, upstreamTls(ca.certPath, 'x'));
    const vc = ((((regexCluster.transport_socket as Record<string, unknown>).typed_config as Record<string, unknown>).common_tls_context as Record<string, unknown>).validation_context as Record<string, unknown>);
    vc.match_typed_subject_alt_names = [{ san_type: 'URI', matcher: { safe_regex: { regex: 'spiffe://.*' } } }];
    const problems = problemsOf(yamlOf([
      chainsListener('a', [{ transportSocket: noCa }], ROUTES, false),
      chainsListener('b', [{ transportSocket: old }], ROUTES, false),
      chainsListener('c', [{ match: { transport_protocol: 'quic' } }, { match: { transport_protocol: 'tls' } }], ROUTES, true),
    ], [regexCluster]));
    const all = problems.map((p) => `${p.path} ${p.message}`).join('\n');
    expect(all).toMatch(/require_client_certificate needs common_tls_context\.validation_context\.trusted_ca/);
    expect(all).toMatch(/tls_minimum_protocol_version is TLSv1_0; only TLSv1_2 and TLSv1_3 are supported/);
    expect(all).toMatch(/safe_regex is not supported for subject-alt-name matching/);
    expect(all).toMatch(/transport_protocol must be one of tls, raw_buffer/);
  });

  it('several chains, or a match on the ClientHello, without the tls_inspector; an unknown listener filter', () => {
    const problems = problemsOf(yamlOf([
      chainsListener('a', [{ match: { transport_protocol: 'tls' } }, { match: { transport_protocol: 'raw_buffer' } }], ROUTES, false),
      chainsListener('b', [{ match: { server_names: ['x.test'] } }], ROUTES, false),
      { ...chainsListener('c', [{}], ROUTES, false), listener_filters: [{ name: 'envoy.filters.listener.original_dst' }] },
    ]));
    const all = problems.map((p) => `${p.path} ${p.message}`).join('\n');
    expect(all).toMatch(/holds several filter chains; choosing among them needs the envoy\.filters\.listener\.tls_inspector/);
    expect(all).toMatch(/matches on server_names.*needs the envoy\.filters\.listener\.tls_inspector/);
    expect(all).toMatch(/the supported listener filters are envoy\.filters\.listener\.tls_inspector, envoy\.filters\.listener\.http_inspector/);
  });
});
