// What the dashboard's metric pulls cost the control plane (issue 16: "less
// than 2% of a core with 50 proxies"). One run: `isthmus control` with N real
// sidecars (`isthmus proxy --control`, one in front of a backend app, the
// others calling it through their outbound listener at a trickle so their
// istio_* counters advance), then cycles of two phases measured on the
// control process's CPU time (/proc, every thread):
//   off: nobody looks at the dashboard (pulls stopped: the idle stop passed)
//   on:  a client polls /dashboard/api/state every 2 s as the page does, so
//        the control plane pulls every sidecar's /stats/prometheus each interval
// The figure is on - off per cycle, in % of one core; the median is printed.
//   npx tsc -p . && node dist/bench/dashboard-pulls.js [--proxies 50] [--cycles 3] [--phase 30] [--interval 5s]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sampleProcess } from './process-sampler.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'isthmus.js');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const PROXIES = Number(arg('proxies', '50'));
const CYCLES = Number(arg('cycles', '3'));
const PHASE_S = Number(arg('phase', '30'));
const INTERVAL = arg('interval', '5s');
const IDLE_WAIT_S = 35; // the dashboard stops pulling 30 s after the last look

interface Proc {
  child: ChildProcess;
  ready: Record<string, unknown>;
}

function start(args: readonly string[], readyMsg: string, cwd: string): Promise<Proc> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolvePromise, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${args[0]}: no "${readyMsg}" within 120 s\n${err.slice(-1000)}`)), 120_000);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const j = JSON.parse(line) as Record<string, unknown>;
          if (j.msg === readyMsg) {
            clearTimeout(timer);
            resolvePromise({ child, ready: j });
          }
        } catch {
          // not a JSON line
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`${args[0]} exited ${code}\n${err.slice(-1000)}`)));
  });
}

function get(port: number, path: string, host?: string): Promise<string> {
  return new Promise((resolvePromise) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: host === undefined ? {} : { host }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolvePromise(body));
    });
    req.on('error', () => resolvePromise(''));
    req.on('timeout', () => req.destroy());
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuPercent(pid: number, from: { cpuSeconds: number; at: number }): number {
  const now = sampleProcess(pid).cpuSeconds;
  return (100 * (now - from.cpuSeconds)) / ((performance.now() - from.at) / 1000);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-pulls-'));
  const procs: ChildProcess[] = [];
  const app = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as { port: number }).port;
  let trickle = true;
  try {
    process.stdout.write(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    const control = await start(['control', '--data-dir', join(dir, 'control'), '--admin-port', '0', '--xds-port', '0', '--secure-xds-port=-1',
      '--dashboard-interval', INTERVAL, '--log-level', 'warn'], 'control ready', dir);
    procs.push(control.child);
    const adminPort = (control.ready.admin as { port: number }).port;
    const xdsPort = (control.ready.xds as { port: number }).port;
    const sidecar = (i: number, extra: string[]): Promise<Proc> => start(['proxy', '--control', `127.0.0.1:${xdsPort}`, '--admin-port', '0', '--outbound-port', '0',
      '--data-dir', join(dir, `p${i}`), '--drain-timeout', '1s', '--log-level', 'warn', ...extra], 'proxy ready', dir);
    const backend = await sidecar(0, ['--service', 'backend', '--version', 'v1', '--app-port', String(appPort), '--service-port', '9080', '--inbound-port', '0']);
    procs.push(backend.child);
    const clients: number[] = [];
    const started = performance.now();
    for (let i = 1; i < PROXIES; i += 5) {
      const batch = await Promise.all(Array.from({ length: Math.min(5, PROXIES - i) }, (_, k) =>
        sidecar(i + k, ['--service', `svc${(i + k) % 10}`, '--version', `v${((i + k) % 3) + 1}`])));
      for (const p of batch) {
        procs.push(p.child);
        const l = (p.ready.listeners as { name: string; port: number }[]).find((x) => x.name === 'outbound');
        if (l !== undefined) clients.push(l.port);
      }
    }
    process.stdout.write(`${PROXIES} proxies ready in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    // A trickle through every client (one request per client every 5 s) keeps their counters moving.
    const trickleDone = (async () => {
      for (let round = 0; trickle && round < 10_000; round++) {
        for (const port of clients) {
          if (!trickle) break;
          void get(port, '/', 'backend:9080');
          await sleep(5000 / Math.max(1, clients.length));
        }
      }
    })();
    await sleep(5000);
    const pid = control.child.pid!;
    const rows: { off: number; on: number }[] = [];
    for (let c = 0; c < CYCLES; c++) {
      await sleep(IDLE_WAIT_S * 1000); // pulls stopped
      let from = { cpuSeconds: sampleProcess(pid).cpuSeconds, at: performance.now() };
      await sleep(PHASE_S * 1000);
      const off = cpuPercent(pid, from);
      let polling = true;
      let state = '';
      const poller = (async () => {
        while (polling) {
          state = await get(adminPort, '/dashboard/api/state');
          await sleep(2000);
        }
      })();
      await sleep(2 * 1000 * Number.parseInt(INTERVAL, 10) || 10_000); // the first pulls (baseline) before measuring
      from = { cpuSeconds: sampleProcess(pid).cpuSeconds, at: performance.now() };
      await sleep(PHASE_S * 1000);
      const on = cpuPercent(pid, from);
      polling = false;
      await poller;
      const m = (JSON.parse(state || '{}') as { metrics?: { targets: number; answered: number }; edges?: unknown[] });
      rows.push({ off, on });
      process.stdout.write(`cycle ${c + 1}: off ${off.toFixed(2)}% on ${on.toFixed(2)}% -> pulls cost ${(on - off).toFixed(2)}% of a core ` +
        `(last pull: ${m.metrics?.answered ?? '?'}/${m.metrics?.targets ?? '?'} sidecars answered, ${m.edges?.length ?? '?'} edges; load ${loadavg()[0]!.toFixed(2)})\n`);
    }
    trickle = false;
    await trickleDone;
    process.stdout.write(`median over ${CYCLES} cycles: off ${median(rows.map((r) => r.off)).toFixed(2)}%, on ${median(rows.map((r) => r.on)).toFixed(2)}%, ` +
      `pulls ${median(rows.map((r) => r.on - r.off)).toFixed(2)}% of a core (${PROXIES} proxies, --dashboard-interval ${INTERVAL})\n`);
  } finally {
    trickle = false;
    for (const p of procs.reverse()) p.kill('SIGTERM');
    await sleep(3000);
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`dashboard-pulls: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
