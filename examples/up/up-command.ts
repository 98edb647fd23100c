// `isthmus up` (what `npm start` runs): the Bookinfo-shaped demo mesh on
// loopback. A control plane watching examples/bookinfo (or --config-dir),
// then for each of productpage, details, reviews v1/v2/v3 and ratings a
// small Node app and its own sidecar (`isthmus proxy --control`, with a
// bootstrap token, so a workload certificate and mTLS), all supervised;
// then steady demo traffic. Ctrl-C or SIGTERM stops every process it started.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { helpText, parseCommandOptions } from '../../src/cli/options.js';
import { packageRoot } from '../../src/process/compiled-path.js';
import { parseJsonLine } from '../../src/process/managed-process.js';
import { binNodeFlags, isthmusCommand } from '../../src/process/proxy-process.js';
import { fetchText, type FetchLimits } from '../../control/dashboard/metrics-fetch.js';
import { missingEndpointWarnings, waitForEndpoints } from './endpoint-convergence.js';
import { LoadGenerator } from './load-generator.js';
import { busyPorts, planPorts, WORKLOADS, type PortPlan } from './port-plan.js';
import { Supervisor } from './supervisor.js';
import { instructions } from './up-instructions.js';
import { UP_SPEC } from './up-options.js';

export { UP_SPEC };

const ROOT = packageRoot(fileURLToPath(new URL('.', import.meta.url)));
/** How long the whole mesh may take to answer through every sidecar. */
const MESH_READY_MS = 120_000;
/** How long the sidecars may take to learn every workload's endpoint before the demo goes on with a warning. */
const ENDPOINTS_MS = 60_000;
/** One poll of the app's page (a few KB), bounded like every other read of the demo's ports. */
const PAGE_FETCH: FetchLimits = Object.freeze({ timeoutMs: 5000, maxBytes: 4 * 1024 * 1024 });
/** How long one process may take to print its ready line (a busy machine is slow: the CA makes its root at first start). */
const PROCESS_READY_MS = 120_000;

/**
 * The cause a pino record carries beside its message: an `error` string, an `err` string (the data plane's
 * 'config not applied', the control plane's xDS failures log the message itself) or a serialized `err`'s message.
 */
export function detailOf(record: Record<string, unknown>): string {
  if (typeof record.error === 'string') return record.error;
  const err = record.err;
  if (typeof err === 'string') return err;
  const message = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : '';
}

/** Longest echoed message or cause: the demo's output stays readable whatever a child logged. */
const MAX_ECHO_CHARS = 2000;

/**
 * Text for the terminal: control characters (a CR or LF that would start a line of its own, ESC sequences that
 * would drive the terminal) written as \xNN, and cut at MAX_ECHO_CHARS. A child's message or cause can carry what a
 * peer sent it (a NACK message, a header value).
 */
export function printable(text: string): string {
  const cut = text.length > MAX_ECHO_CHARS ? `${text.slice(0, MAX_ECHO_CHARS)}...` : text;
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return cut.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Takes a child's name and one output line; returns what the demo echoes of it (a warning or error record with its
 * cause, or a plain line that is not a known notice), or null for a line the demo keeps quiet.
 */
export function problemLine(name: string, line: string): string | null {
  const record = parseJsonLine(line);
  if (record === undefined) {
    // Node's own deprecation notices (the TLS client's servername on 127.0.0.1) are not the demo's business.
    return line.trim() !== '' && !/ ready on |DeprecationWarning|--trace-deprecation/.test(line) ? `${name}: ${printable(line)}` : null;
  }
  if (typeof record.level !== 'number' || record.level < 40) return null;
  const why = detailOf(record);
  const msg = typeof record.msg === 'string' ? record.msg : line;
  return `${name} ${record.level >= 50 ? 'error' : 'warning'}: ${printable(msg)}${why === '' ? '' : ` (${printable(why)})`}`;
}

/** Echoes a child's warnings and errors (pino level >= 40), prefixed with its name; info lines stay quiet. */
function echoProblems(name: string): (line: string) => void {
  return (line) => {
    const text = problemLine(name, line);
    if (text !== null) process.stderr.write(`${text}\n`);
  };
}

const isLogMessage = (msg: string) => (line: string): boolean => parseJsonLine(line)?.msg === msg;

/** Creates a bootstrap token for service account `sa` through the control plane's admin API; returns its file. */
async function createToken(plan: PortPlan, adminToken: string, sa: string, file: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${plan.controlAdmin}/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ namespace: 'default', serviceAccount: sa, ttl: '168h' }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { token?: string; error?: string };
  if (res.status !== 200 || typeof body.token !== 'string') throw new Error(`token for ${sa}: ${res.status} ${body.error ?? ''}`);
  writeFileSync(file, body.token, { mode: 0o600 });
  return file;
}

/** Polls the app URL until a page came back through productpage, details and reviews; rejects once `signal` aborts. */
async function waitForMesh(appUrl: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    signal.throwIfAborted();
    const res = await fetchText(new URL(appUrl), PAGE_FETCH, undefined, signal);
    if (res.ok && /id="reviews-version">reviews-v\d/.test(res.text) && !res.text.includes('details-error')) return;
    last = res.ok ? 'the page came back without details or reviews' : res.message;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the app did not answer through the sidecars within ${timeoutMs / 1000} s (${last})`);
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandOptions(UP_SPEC, argv);
  if (parsed.help) {
    process.stdout.write(helpText(UP_SPEC));
    return 0;
  }
  const started = Date.now();
  const v = parsed.values;
  const plan = planPorts(v['ports-from'] as number);
  const configDir = resolve((v['config-dir'] as string | undefined) ?? join(ROOT, 'examples', 'bookinfo'));
  if (!statSync(configDir, { throwIfNoEntry: false })?.isDirectory()) {
    process.stderr.write(`isthmus up: --config-dir ${configDir} is not a folder\n`);
    return 2;
  }
  const busy = await busyPorts(plan.all);
  if (busy.length > 0) {
    process.stderr.write(`isthmus up: port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} in use on 127.0.0.1; the demo takes ${plan.all[0]}-${plan.all.at(-1)}: pick another range with --ports-from N\n`);
    return 1;
  }

  const dir = mkdtempSync(join(tmpdir(), 'isthmus-up-'));
  const supervisor = new Supervisor((message) => process.stderr.write(`isthmus up: ${message}\n`));
  let load: LoadGenerator | null = null;
  let stopping: Promise<void> | null = null;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      load?.stop();
      // Sidecars and apps first (they drain), then the control plane they talk to.
      await supervisor.stop((c) => c.spec.name !== 'control');
      await supervisor.stop();
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  // Aborted by a signal: the startup's waits on the mesh end at once (its processes are being stopped).
  const startup = new AbortController();
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<number>((done) => {
    onSignal = (signal) => {
      if (stopping !== null) return;
      startup.abort();
      process.stderr.write(`\n${signal}: stopping the demo...\n`);
      void stopAll().then(() => done(0));
    };
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // The apps need nothing from the control plane: they start beside it; the sidecars need its tokens.
    const appFlags = binNodeFlags(join(ROOT, 'bin', 'isthmus.js'));
    const apps = Promise.all(WORKLOADS.map((w, i) => {
      const ports = plan.workloads[i]!;
      const id = `${w.service}-${w.version}`;
      return supervisor.start({
        name: id,
        command: process.execPath,
        args: [...appFlags, join(ROOT, 'examples', 'bookinfo-apps', w.script)],
        env: { ...process.env, PORT: String(ports.app), VERSION: w.version, ...(w.callsOut ? { OUTBOUND_PORT: String(ports.outbound) } : {}) },
        isReady: (line) => line.includes(' ready on '),
        readyTimeoutMs: PROCESS_READY_MS,
        onLine: echoProblems(id),
      });
    }));
    apps.catch(() => undefined); // awaited below; a failure then stops the demo
    const controlData = join(dir, 'control');
    const control = isthmusCommand([
      'control', '--config-dir', configDir, '--data-dir', controlData, '--log-format', 'json',
      '--admin-port', String(plan.controlAdmin), '--xds-port', String(plan.controlXds), '--secure-xds-port', String(plan.controlSecureXds),
      '--tracing-sampling', '100',
    ]);
    await supervisor.start({ name: 'control', ...control, isReady: isLogMessage('control ready'), onLine: echoProblems('control'), readyTimeoutMs: PROCESS_READY_MS });

    const adminToken = readFileSync(join(controlData, 'admin-token'), 'utf8').trim();
    const rootCert = join(controlData, 'root-cert.pem');
    await Promise.all(WORKLOADS.map(async (w, i) => {
      const ports = plan.workloads[i]!;
      const id = `${w.service}-${w.version}`;
      const home = join(dir, id);
      mkdirSync(home);
      const tokenFile = await createToken(plan, adminToken, w.service, join(home, 'token'));
      await supervisor.start({
        name: `${id} sidecar`,
        ...isthmusCommand([
          'proxy', '--control', `127.0.0.1:${plan.controlSecureXds}`, '--control-ca', rootCert, '--token-file', tokenFile,
          '--service', w.service, '--namespace', 'default', '--version', w.version,
          '--app-port', String(ports.app), '--service-port', '9080', '--inbound-port', String(ports.inbound),
          '--outbound-port', String(ports.outbound), '--admin-port', String(ports.admin),
          '--data-dir', join(home, 'proxy'), '--workers', '1', '--access-log', 'off', '--drain-timeout', '1s', '--log-format', 'json',
        ]),
        isReady: isLogMessage('proxy ready'),
        onLine: echoProblems(`${id} sidecar`),
        readyTimeoutMs: PROCESS_READY_MS,
      });
    }));
    await apps;

    const missing = await waitForEndpoints(plan, ENDPOINTS_MS, startup.signal);
    if (stopping !== null) return await stopped;
    for (const line of missingEndpointWarnings(missing, ENDPOINTS_MS)) process.stderr.write(line);
    const appUrl = `http://127.0.0.1:${plan.entry}/productpage`;
    await waitForMesh(appUrl, MESH_READY_MS, startup.signal);
    const rate = v['no-traffic'] === true ? null : (v.rate as number);
    if (rate !== null) {
      load = new LoadGenerator(plan.entry, rate);
      load.start();
    }
    const controlUrl = `http://127.0.0.1:${plan.controlAdmin}`;
    process.stdout.write(instructions({
      appUrl, dashboardUrl: `${controlUrl}/dashboard`, controlUrl, configDir,
      processes: supervisor.children.length, startSeconds: (Date.now() - started) / 1000, rate,
    }));
    const code = await stopped;
    return code;
  } catch (err) {
    if (stopping !== null) return stopped; // a signal during startup: its children failing to start is no error
    process.stderr.write(`isthmus up: ${(err as Error).message}\n`);
    await stopAll();
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
