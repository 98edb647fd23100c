// `isthmus up` (what `npm start` runs): the demo on loopback. Two versions of a
// tiny "reviews" service, and the Isthmus sidecar proxy (2 workers) in front of
// them splitting traffic 80/20, with a URL that works as it is in a browser or
// with a bare curl. Ctrl-C (or SIGTERM) stops everything it started.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isthmusCommand, parseProxyReady, type ProxyReady } from '../src/process/proxy-process.js';
import { parseJsonLine, startManagedProcess, type ManagedProcess } from '../src/process/managed-process.js';
import { helpText, parseCommandOptions, type CommandSpec, type OptionValue } from '../src/cli/options.js';
import { demoBootstrapYaml } from './demo-bootstrap.js';
import { startDemoUpstream, type DemoUpstream } from './demo-upstream.js';

const port = (v: OptionValue): string | undefined =>
  typeof v === 'number' && v >= 0 && v <= 65535 ? undefined : 'must be a port number (0-65535)';

export const UP_SPEC: CommandSpec = {
  name: 'up',
  summary: 'Runs the demo on loopback: reviews v1 and v2 behind the Isthmus proxy with an 80/20 split. Ctrl-C stops it.',
  usage: '[options]',
  options: [
    { name: 'port', type: 'integer', valueName: 'PORT', default: 15001, description: 'proxy listener port (any free port if taken; 0: any)', validate: port },
    { name: 'admin-port', type: 'integer', valueName: 'PORT', default: 15000, description: 'proxy admin port (any free port if taken; 0: any)', validate: port },
    { name: 'workers', type: 'integer', valueName: 'N', default: 2, description: 'proxy worker threads', validate: (v) => (typeof v === 'number' && v >= 1 ? undefined : 'must be >= 1') },
  ],
};

/** `preferred` when it can be bound on 127.0.0.1 right now, else 0 (the kernel picks). */
async function portOrAny(preferred: number): Promise<number> {
  if (preferred === 0) return 0;
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(0));
    probe.listen(preferred, '127.0.0.1', () => probe.close(() => done(preferred)));
  });
}

/** Echoes the proxy's warnings and errors (pino level >= 40); info lines stay quiet. */
function echoProblems(line: string): void {
  const record = parseJsonLine(line);
  if (record === undefined) {
    if (line.trim() !== '') process.stderr.write(`proxy: ${line}\n`);
    return;
  }
  if (typeof record.level === 'number' && record.level >= 40) {
    const what = record.level >= 50 ? 'error' : 'warning';
    process.stderr.write(`proxy ${what}: ${typeof record.msg === 'string' ? record.msg : line}\n`);
  }
}

function instructions(ready: ProxyReady, bootstrapPath: string): string {
  const url = `http://127.0.0.1:${ready.listenPort}/`;
  const admin = `http://127.0.0.1:${ready.adminPort}`;
  return `
Isthmus demo is up: reviews v1 and v2 behind the Isthmus proxy (80/20 split).

  Open ${url}

Try next:
  curl ${url}                  a few times: about 1 answer in 5 comes from v2
  curl ${url}v2                always v2 (a path route)
  curl ${url}health            answered by the proxy itself (direct_response)
  curl ${admin}/stats/prometheus | grep istio_requests_total
  curl ${admin}/config_dump
  Edit ${bootstrapPath}
  (say, weights 50/50) and save: the proxy reloads it without a restart.

Ctrl-C stops everything.
`;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandOptions(UP_SPEC, argv);
  if (parsed.help) {
    process.stdout.write(helpText(UP_SPEC));
    return 0;
  }
  const workers = parsed.values.workers as number;
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-demo-'));
  const upstreams: DemoUpstream[] = [];
  let proxy: ManagedProcess<ProxyReady> | null = null;

  let stopping: Promise<void> | null = null;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      if (proxy !== null) await proxy.stop(10_000);
      await Promise.all(upstreams.map((u) => u.close()));
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  let onSignal: ((signal: NodeJS.Signals) => void) | null = null;
  const stopped = new Promise<number>((done) => {
    onSignal = (signal) => {
      process.stderr.write(`\n${signal}: stopping the demo...\n`);
      void stopAll().then(() => done(0));
    };
  });
  process.on('SIGINT', onSignal!);
  process.on('SIGTERM', onSignal!);

  try {
    upstreams.push(await startDemoUpstream('v1'), await startDemoUpstream('v2'));
    const [v1, v2] = upstreams as [DemoUpstream, DemoUpstream];
    const listenPort = await portOrAny(parsed.values.port as number);
    const adminPort = await portOrAny(parsed.values['admin-port'] as number);
    const bootstrapPath = join(dir, 'bootstrap.yaml');
    writeFileSync(bootstrapPath, demoBootstrapYaml({ listenPort, v1Port: v1.port, v2Port: v2.port }));
    const { command, args } = isthmusCommand([
      'proxy',
      '--bootstrap', bootstrapPath,
      '--workers', String(workers),
      '--admin-port', String(adminPort),
      '--data-dir', join(dir, 'data'),
      '--service', 'demo',
      '--access-log', 'off',
    ]);
    proxy = await startManagedProcess({
      name: 'isthmus proxy',
      command,
      args,
      readyLine: parseProxyReady,
      onLine: echoProblems,
      readyTimeoutMs: 30_000,
      ownProcessGroup: true,
    });
    process.stdout.write(instructions(proxy.ready!, bootstrapPath));

    // Runs until a signal, or until the proxy dies on its own (then the demo is over too).
    const running = proxy;
    const proxyExit = running.waitForExit().then(() => {
      if (stopping !== null) return 0;
      process.stderr.write(`the proxy exited unexpectedly (${running.exitDescription ?? 'unknown'}); stopping the demo\n`);
      return 1;
    });
    const code = await Promise.race([stopped, proxyExit]);
    await stopAll();
    return code;
  } catch (err) {
    // The proxy's own output was already echoed line by line: the first line says enough.
    process.stderr.write(`isthmus up: ${(err as Error).message.split('\n')[0]}\n`);
    await stopAll();
    return 1;
  } finally {
    process.off('SIGINT', onSignal!);
    process.off('SIGTERM', onSignal!);
  }
}

// Also runnable as `node dist/examples/demo.js`.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
