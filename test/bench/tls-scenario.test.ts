// The TLS bench scenario end to end, quickly, with whatever is installed:
// `isthmus bench tls --quick` through the real CLI makes an ECDSA P-256
// certificate, starts the TLS targets it can (haproxy and nginx when
// installed; Isthmus once it terminates TLS), loads them through node:tls,
// and reports each target as rows or as skipped with the reason.
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { makeBenchCertificate } from '../../bench/tls-certificate.js';
import { haproxyTlsConfig, isthmusTlsBootstrapYaml, nginxTlsConfig } from '../../bench/tls-targets.js';

const root = join(import.meta.dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'bench-tls-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runBench(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'isthmus.js'), 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('bench tls', () => {
  it('serves one ECDSA P-256 certificate from every target config', () => {
    const cert = makeBenchCertificate(join(out, 'cert'));
    const x509 = new X509Certificate(cert.certPem);
    expect(x509.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    expect(x509.subjectAltName).toBe('DNS:bench.local');
    expect(nginxTlsConfig(8443, 8080, out, cert)).toContain(`listen 127.0.0.1:8443 ssl;\n    ssl_certificate ${cert.certFile};`);
    expect(haproxyTlsConfig(8443, 8080, out, cert)).toContain(`bind 127.0.0.1:8443 ssl crt ${cert.combinedFile}`);
    const bootstrap = parse(isthmusTlsBootstrapYaml(8080, cert)) as any;
    const chain = bootstrap.static_resources.listeners[0].filter_chains[0];
    expect(chain.transport_socket.name).toBe('envoy.transport_sockets.tls');
    expect(chain.transport_socket.typed_config['@type']).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');
    expect(chain.transport_socket.typed_config.common_tls_context.tls_certificates[0]).toEqual({
      certificate_chain: { filename: cert.certFile },
      private_key: { filename: cert.keyFile },
    });
    expect(chain.filters[0].name).toBe('envoy.filters.network.http_connection_manager');
  });

  it('measures each TLS target it can start and says why it skipped the others', async () => {
    const dir = join(out, 'run');
    const { code, stderr } = await runBench(['tls', '--quick', '--duration', '1s', '--warmup', '300ms', '--connections', '8', '--out', dir]);
    const report = JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8')) as {
      results: { scenario: string; target: string; rps: number; errors: number; cpu_s_per_1k: number | null }[];
      skipped: { target: string; reason: string }[];
    };
    for (const label of ['isthmus 1w', 'haproxy', 'nginx']) {
      const target = label.split(' ')[0]!;
      const rows = report.results.filter((r) => r.target === target);
      const skip = report.skipped.find((s) => s.target === `tls/${label}`);
      if (rows.length === 0) {
        expect(skip, `${label}: neither measured nor skipped\n${stderr}`).toBeDefined();
        if (target === 'isthmus') expect(skip!.reason).toMatch(/^skipped: this build does not terminate TLS \(/);
        else expect(skip!.reason).toMatch(/is not installed|did not|TLS handshake/);
        continue;
      }
      expect(rows.map((r) => r.scenario).sort()).toEqual(['tls-handshake', 'tls-keepalive']);
      for (const r of rows) {
        expect(r.rps, `${label} ${r.scenario}`).toBeGreaterThan(0);
        expect(r.errors).toBe(0);
        expect(r.cpu_s_per_1k).toBeGreaterThan(0);
      }
    }
    expect(code).toBe(report.results.length > 0 ? 0 : 1);
    if (report.results.length > 0) expect(readFileSync(join(dir, 'bench.md'), 'utf8')).toContain('tls-keepalive');
  }, 120_000);
});
