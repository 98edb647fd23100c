// The report scenario's policy server: a real `isthmus control` (its own
// process, not sampled: the rows compare the proxy) whose rules are telemetry
// only, Istio's usual pair: a `metric` instance counted by a `prometheus`
// handler and a `logentry` instance written by a `stdio` handler (to a file
// in the run's directory). With no check rules every Check is answered OK
// with the default validity (60 s, 10000 uses) and no referenced attributes,
// so the proxy serves requests from its check cache and asks again every
// 10000 requests: the hit ratio of a steady pattern. Also: the proxy's check
// cache hits and misses over the measured window, read from its
// /stats/prometheus.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isthmusCommand } from '../src/process/proxy-process.js';
import { parseJsonLine, startManagedProcess, type ManagedProcess } from '../src/process/managed-process.js';
import type { DuringLoad } from './scenarios.js';

function telemetry(logPath: string): string {
  return `apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: { name: prom, namespace: istio-system }
spec:
  compiledAdapter: prometheus
  params:
    metrics:
    - { name: requests_total, instanceName: requestcount.istio-system, kind: COUNTER, labelNames: [code, method] }
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: { name: requestcount, namespace: istio-system }
spec:
  compiledTemplate: metric
  params:
    value: "1"
    dimensions: { code: response.code | 0, method: request.method | "unknown" }
---
apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: { name: console, namespace: istio-system }
spec:
  compiledAdapter: stdio
  params: { logStream: FILE, outputPath: ${JSON.stringify(logPath)} }
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: { name: accesslog, namespace: istio-system }
spec:
  compiledTemplate: logentry
  params:
    severity: conditional(response.code >= 500, "Error", "Info")
    timestamp: request.time
    variables: { path: request.path | "", latency: response.duration | duration("0s") }
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: telemetry, namespace: istio-system }
spec:
  match: context.protocol == "http"
  actions:
  - { handler: prom, instances: [requestcount] }
  - { handler: console.istio-system, instances: [accesslog.istio-system] }
`;
}

/** Starts `isthmus control` with the telemetry rules in dir; resolves with it once ready (ready = its plaintext gRPC port). */
export async function startPolicyControl(dir: string): Promise<ManagedProcess<number>> {
  const configDir = join(dir, 'control-config');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(join(configDir, 'telemetry.yaml'), telemetry(join(dir, 'access.log')));
  const { command, args } = isthmusCommand(['control', '--config-dir', configDir, '--data-dir', join(dir, 'control-data'), '--admin-port', '0', '--xds-port', '0', '--secure-xds-port=-1']);
  return startManagedProcess({
    name: 'isthmus control',
    command,
    args,
    readyTimeoutMs: 60_000,
    readyLine: (line) => {
      const record = parseJsonLine(line) as { msg?: string; xds?: { port?: number } } | null;
      return record?.msg === 'control ready' && typeof record.xds?.port === 'number' ? record.xds.port : undefined;
    },
  });
}

/**
 * The proxy's check cache hits and misses (and Report batches sent and dropped) over the measured window: its /stats/prometheus polled every 100 ms from
 * start() to end() (the last answer before end() counts; both counters are read together, so the ratio holds).
 */
export function cacheCounts(adminPort: number): DuringLoad {
  const names = ['check_cache_hits', 'check_cache_misses', 'report_batches_sent', 'report_batches_dropped'] as const;
  let first: number[] | null = null;
  let last: number[] | null = null;
  let timer: NodeJS.Timeout | null = null;
  const poll = (): void => {
    fetch(`http://127.0.0.1:${adminPort}/stats/prometheus`).then((r) => r.text()).then((text) => {
      const read = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
      const now = names.map((n) => read(`isthmus_mixer_${n}_total`));
      if (now.some(Number.isNaN) || timer === null) return;
      first ??= now;
      last = now;
    }, () => {});
  };
  return {
    start() {
      first = null; // each measured window (max, then fixed) counts its own
      last = null;
      timer = setInterval(poll, 100);
      poll();
    },
    end() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      const [a, b] = [first, last];
      if (a === null || b === null) return {};
      return Object.fromEntries(names.map((n, i) => [n, b[i]! - a[i]!]));
    },
  };
}
