// `isthmus bench ca`: how many CSRs the control plane's CA checks and signs
// per second on one core (read the PEM, verify the proof of possession, build
// and sign the workload certificate): what a mass restart of sidecars, or a
// short --workload-cert-ttl across a large mesh, asks of it. Issue 12's
// target: at least 2000 per second. In-process, one thread, no gRPC; the
// per-CSR work runs in OpenSSL through the addon (native/x509_*.cc).
import { webcrypto } from 'node:crypto';
import { createSelfSignedRoot, rootMaterial } from '../control/ca/ca-material.js';
import { readCsr } from '../control/ca/csr-reader.js';
import { WorkloadSigner } from '../control/ca/workload-signer.js';
import { ECDSA_P256, loadX509 } from '../src/identity/x509.js';

export interface CaResultRow {
  readonly csrs_per_s: number;
  readonly us_per_csr: number;
  /** CSRs per second of this process's CPU time: the one-core figure on a machine shared with other work. */
  readonly csrs_per_cpu_s: number;
  readonly signed: number;
  readonly goal: number;
}

const DISTINCT_CSRS = 32;

export async function runCaScenario(durationMs: number, log: (line: string) => void): Promise<CaResultRow> {
  const x509 = await loadX509();
  const signer = new WorkloadSigner(rootMaterial(await createSelfSignedRoot('cluster.local')));
  const csrs: string[] = [];
  for (let i = 0; i < DISTINCT_CSRS; i++) {
    const keys = await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify']);
    const uri = `spiffe://cluster.local/ns/bench/sa/sa-${i}`;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      keys, signingAlgorithm: ECDSA_P256, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }])],
    });
    csrs.push(csr.toString('pem'));
  }
  const round = (ms: number): { wall: number; cpu: number } => {
    let n = 0;
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    while (performance.now() - start < ms) {
      const pem = csrs[n % DISTINCT_CSRS]!;
      const checked = readCsr(pem);
      signer.sign(checked, checked.uriSans[0]!, 86_400_000);
      n++;
    }
    const cpu = process.cpuUsage(cpuStart);
    return { wall: n / ((performance.now() - start) / 1000), cpu: n / Math.max((cpu.user + cpu.system) / 1e6, 1e-6) };
  };
  round(Math.min(1000, durationMs / 4)); // warm-up: JIT and lazy setup
  const rounds = [round(durationMs / 3), round(durationMs / 3), round(durationMs / 3)];
  const median = rounds.map((r) => r.wall).sort((a, b) => a - b)[1]!;
  const medianCpu = rounds.map((r) => r.cpu).sort((a, b) => a - b)[1]!;
  const row = {
    csrs_per_s: Math.round(median), us_per_csr: Math.round(1e6 / median), csrs_per_cpu_s: Math.round(medianCpu),
    signed: Math.round(median * durationMs / 1000), goal: 2000,
  };
  log(`bench: ca: ${row.csrs_per_s} CSRs signed per second on one thread (${row.us_per_csr} µs each; ${row.csrs_per_cpu_s} per CPU-second; goal >= ${row.goal})`);
  return row;
}

export function formatCaTable(row: CaResultRow | undefined): string {
  if (row === undefined) return '';
  return `CA signing (one thread): ${row.csrs_per_s} CSRs/s, ${row.us_per_csr} µs per CSR, ${row.csrs_per_cpu_s} per CPU-second (goal >= ${row.goal}/s: ${row.csrs_per_s >= row.goal ? 'met' : 'not met'})\n`;
}
