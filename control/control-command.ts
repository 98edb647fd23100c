// `isthmus control`: the control process. Opens the config store (LMDB in
// --data-dir), reads and watches --config-dir, serves the admin API, prints
// a "control ready" line, and exits 0 on SIGTERM/SIGINT after closing
// everything. The xDS side (control/mesh/) sits beside the store: an ADS
// server on --xds-port whose snapshots the MeshPublisher builds from the
// store and the service registry, with its routes in the same admin table.

import { GracefulStop, exitProcess } from '../src/process/graceful-stop.js';
import { lockDataDir, type DataDirLock } from '../src/store/data-dir-lock.js';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isIP } from 'node:net';
import type { LogFormat } from '../src/log-levels.js';
import { LOG_FORMAT_OPTION, LOG_LEVEL_OPTION, OptionsError, helpText, intBetween, parseCommandOptions, type CommandSpec } from '../src/cli/options.js';
import { createLogger, reportStartFailure, type Logger } from '../src/log.js';
import type { AdminHttpServer } from '../src/admin/admin-http.js';
import type { ConfigStore } from './store/config-store.js';
import { renderProcessMetrics } from './admin/process-metrics.js';
import { renderCaMetrics } from './ca/ca-metrics.js';
import type { ConfigDirWatcher } from './store/config-dir-watcher.js';
import type { AdsServer } from './xds/ads-server.js';
import type { MeshPublisher } from './mesh/mesh-publisher.js';
import type { PolicyRuntime } from './mixer/policy-runtime.js';
import type { NativeGrpcServer } from './mixer/native-grpc-server.js';
import type { CaOptions, CertificateAuthority } from './ca/certificate-authority.js';
import type { ServingCertificate } from './ca/serving-certificate.js';
import { trustDomainProblem } from '../src/identity/spiffe.js';
import {
  DEFAULT_PATH_NORMALIZATION, isPathNormalizationType, PATH_NORMALIZATION_TYPES, type PathNormalizationType,
} from './translate/hcm-path-normalization.js';
import type { MeshH2UpgradePolicy } from './translate/upstream-protocol.js';
import { ACCESS_LOG_ENCODINGS, meshAccessLogProblem, type AccessLogEncoding, type MeshAccessLog } from './translate/access-log-mesh.js';
import { parseCollectorAddress, parseSamplingPercent, type MeshTracing } from './translate/tracing-mesh.js';
import { DEFAULT_MESH_POLICY_CHECK, MAX_POLICY_CHECK_RETRIES, meshPolicyCheckProblem, type MeshPolicyCheck } from './translate/policy-check-mesh.js';
import { CONTROL_SERVER_NAME } from '../src/xds/control-server-name.js';

export interface ControlOptions {
  readonly configDir: string | null;
  readonly dataDir: string;
  readonly adminPort: number;
  readonly adminAddress: string;
  /** Host names the admin API is reached by, besides localhost and IP addresses (DNS-rebinding guard). */
  readonly adminAllowedHosts: readonly string[];
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  readonly xdsPort: number;
  readonly xdsAddress: string;
  readonly pushDebounceQuietMs: number;
  readonly pushDebounceMaxMs: number;
  readonly registrationGraceMs: number;
  /** Istio's meshConfig.pathNormalization.normalization for every proxy's listeners. */
  readonly pathNormalization: PathNormalizationType;
  /** Istio's meshConfig.h2UpgradePolicy: UPGRADE makes clusters of `http` ports speak HTTP/2 (a DestinationRule's overrides it). */
  readonly h2UpgradePolicy: MeshH2UpgradePolicy;
  /** Istio's meshConfig.accessLogFile / accessLogEncoding / accessLogFormat for every proxy's listeners. */
  readonly accessLog: MeshAccessLog;
  /** --root-namespace: mesh-wide Sidecar, DestinationRule and PeerAuthentication live here (Istio: istio-system). */
  readonly rootNamespace: string;
  /** The xDS + CA port over TLS (Istio's 15012); null: not served. */
  readonly secureXdsPort: number | null;
  readonly secureXdsAddress: string;
  /** Names the TLS port's certificate carries besides localhost and 127.0.0.1. */
  readonly serverNames: readonly string[];
  readonly ca: CaOptions;
  /** --policy-adapter: plug-in adapter modules (absolute paths) loaded before the config is read. */
  readonly policyAdapters: readonly string[];
  /** --policy-threads: adapter pool threads (each handler is pinned to one). */
  readonly policyThreads: number;
  /** --policy-port: Mixer Check/Report and ext_authz on the addon's HTTP/2 server (plaintext); null: not served. */
  readonly policyPort: number | null;
  readonly policyAddress: string;
  /** --prometheus: the dashboard reads request metrics from this Prometheus server instead of the sidecars; null: sidecars. */
  readonly prometheusUrl: string | null;
  /** --dashboard-interval: how often the dashboard pulls metrics while someone looks (ms; 0: never). */
  readonly dashboardIntervalMs: number;
  /** --tracing-sampling / --tracing-zipkin: tracing on every sidecar; collector port 0 = this control plane's admin port, once bound. */
  readonly tracing: MeshTracing | null;
  /** The collector (the same object as tracing's): where a Telemetry resource's tracing reports without --tracing-sampling. */
  readonly tracingCollector: { host: string; port: number };
  /** --policy-check-*: what every sidecar's policy filter does when a Check gets no answer (Istio's meshConfig.policyCheckFailOpen). */
  readonly policyCheck: MeshPolicyCheck;
}

export const CONTROL_COMMAND: CommandSpec = {
  name: 'control',
  usage: '[--config-dir DIR] [options]',
  summary: 'Runs the control plane: keeps Istio-shaped config from a watched folder and `isthmus apply`, serves it to proxies over xDS (ADS) and serves the admin API.',
  options: [
    { name: 'config-dir', type: 'string', valueName: 'DIR', description: 'folder of Istio-shaped YAML (*.yaml, *.yml, *.json), watched for changes' },
    { name: 'data-dir', type: 'string', valueName: 'DIR', default: './.isthmus/control', description: 'LMDB data directory' },
    {
      name: 'admin-port', type: 'integer', valueName: 'PORT', default: 15014, description: 'admin API port (0: any free port)',
      validate: intBetween(0, 65535),
    },
    { name: 'admin-address', type: 'string', valueName: 'ADDR', default: '127.0.0.1', description: 'admin API address' },
    {
      name: 'admin-allowed-host', type: 'list', valueName: 'NAME',
      description: 'a host name the admin API may be reached by besides localhost and IP addresses (other Host headers are refused)',
    },
    {
      name: 'xds-port', type: 'integer', valueName: 'PORT', default: 15010, description: 'ADS (xDS) gRPC port, plaintext (0: any free port)',
      validate: intBetween(0, 65535),
    },
    { name: 'xds-address', type: 'string', valueName: 'ADDR', default: '127.0.0.1', description: 'ADS (xDS) address (plaintext: keep it on loopback)' },
    { name: 'push-debounce-quiet', type: 'duration', valueName: 'DURATION', default: '100ms', description: 'push once changes have been quiet this long' },
    { name: 'push-debounce-max', type: 'duration', valueName: 'DURATION', default: '1s', description: 'push at the latest this long after the first change of a burst' },
    {
      name: 'registration-grace', type: 'duration', valueName: 'DURATION', default: '10s',
      description: 'how long a proxy that disconnected stays an endpoint (a reconnect keeps its place)',
    },
    {
      name: 'path-normalization', type: 'string', valueName: 'TYPE', default: DEFAULT_PATH_NORMALIZATION,
      description: `Istio's meshConfig.pathNormalization for the proxies' listeners: ${PATH_NORMALIZATION_TYPES.join(', ')}`,
      validate: (v) => (isPathNormalizationType(String(v)) ? undefined : `unknown path normalization '${String(v)}'`),
    },
    {
      name: 'h2-upgrade-policy', type: 'string', valueName: 'POLICY', default: 'DO_NOT_UPGRADE',
      description: "Istio's meshConfig.h2UpgradePolicy: UPGRADE sends HTTP/2 to every http port's upstream (a DestinationRule's h2UpgradePolicy wins); DO_NOT_UPGRADE",
      validate: (v) => (v === 'UPGRADE' || v === 'DO_NOT_UPGRADE' ? undefined : `unknown h2 upgrade policy '${String(v)}' (UPGRADE or DO_NOT_UPGRADE)`),
    },
    {
      name: 'access-log-file', type: 'string', valueName: 'PATH', default: '',
      description: "Istio's meshConfig.accessLogFile: the proxies write an access log there (/dev/stdout: their standard output); empty: none",
    },
    {
      name: 'access-log-encoding', type: 'string', valueName: 'TEXT|JSON', default: 'TEXT',
      description: "Istio's meshConfig.accessLogEncoding for --access-log-file",
      validate: (v) => ((ACCESS_LOG_ENCODINGS as readonly string[]).includes(String(v)) ? undefined : `must be TEXT or JSON, not '${String(v)}'`),
    },
    {
      name: 'access-log-format', type: 'string', valueName: 'FORMAT', default: '',
      description: "Istio's meshConfig.accessLogFormat: Envoy format string (TEXT) or JSON object of them (JSON); empty: Istio's default",
    },
    {
      name: 'secure-xds-port', type: 'integer', valueName: 'PORT', default: 15012,
      description: 'xDS and certificate service over TLS, server certificate from the CA (Istio\'s 15012; 0: any free port; -1: off)',
      validate: intBetween(-1, 65535),
    },
    { name: 'secure-xds-address', type: 'string', valueName: 'ADDR', default: '127.0.0.1', description: 'address of the TLS xDS port' },
    { name: 'server-name', type: 'list', valueName: 'NAME', description: 'a DNS name or address the TLS port\'s certificate names besides localhost, 127.0.0.1 and isthmus-control (repeatable)' },
    { name: 'allow-plaintext-xds', type: 'boolean', description: 'serve plaintext xDS on a --xds-address that is not loopback (proxies elsewhere should use the TLS port)' },
    { name: 'root-namespace', type: 'string', valueName: 'NS', default: 'istio-system', description: 'namespace whose Sidecar, DestinationRule and PeerAuthentication (without selector) apply mesh-wide' },
    { name: 'trust-domain', type: 'string', valueName: 'DOMAIN', default: 'cluster.local', description: 'SPIFFE trust domain of workload identities' },
    { name: 'ca-cert', type: 'string', valueName: 'FILE', description: 'operator CA: the signing certificate (PEM; Istio\'s ca-cert.pem); with --ca-key' },
    { name: 'ca-key', type: 'string', valueName: 'FILE', description: 'operator CA: the signing key (PEM; Istio\'s ca-key.pem)' },
    { name: 'ca-chain', type: 'string', valueName: 'FILE', description: 'operator CA: the certificates above --ca-cert up to the root (PEM; Istio\'s cert-chain.pem)' },
    { name: 'root-rotation-overlap', type: 'duration', valueName: 'DURATION', default: '24h', description: 'length of each phase of `isthmus ca rotate` (at least the longest workload certificate lifetime)' },
    { name: 'workload-cert-ttl', type: 'duration', valueName: 'DURATION', default: '24h', description: 'lifetime of a workload certificate when the request names none' },
    { name: 'max-workload-cert-ttl', type: 'duration', valueName: 'DURATION', default: '2160h', description: 'the longest workload certificate lifetime granted (longer requests are capped)' },
    { name: 'policy-adapter', type: 'list', valueName: 'FILE', description: 'an ES module exporting policy adapters (control/mixer/adapter.ts), registered beside the built-in ones before the config is read (repeatable)' },
    {
      name: 'policy-threads', type: 'integer', valueName: 'N', default: 2,
      description: 'adapter pool threads for policy handlers (Mixer Check/Report, ext_authz); each handler runs on one of them',
      validate: intBetween(1, 64),
    },
    {
      name: 'policy-port', type: 'integer', valueName: 'PORT', default: -1,
      description: 'serve Mixer Check/Report and ext_authz Check (plaintext gRPC) on this port too, on the native HTTP/2 server: a Check costs the control plane a fraction of the xDS port\'s CPU (Istio\'s policy port; 0: any free port; -1: off)',
      validate: intBetween(-1, 65535),
    },
    {
      name: 'policy-check-fail-closed', type: 'boolean',
      description: "Istio's meshConfig.policyCheckFailOpen: false: a sidecar refuses a request (503 UNAVAILABLE) whose policy Check gets no answer, after its retries; without it the request passes (fail open)",
    },
    {
      name: 'policy-check-timeout', type: 'duration', valueName: 'DURATION', default: `${DEFAULT_MESH_POLICY_CHECK.timeoutMs}ms`,
      description: "how long a sidecar waits for one policy Check's answer (at most 60s)",
    },
    {
      name: 'policy-check-retries', type: 'integer', valueName: 'N', default: DEFAULT_MESH_POLICY_CHECK.maxRetry,
      description: 'how many times a sidecar asks again after a failed policy Check, with exponential backoff and jitter, before failing open or closed',
      validate: intBetween(0, MAX_POLICY_CHECK_RETRIES),
    },
    {
      name: 'policy-check-retry-wait', type: 'duration', valueName: 'DURATION', default: `${DEFAULT_MESH_POLICY_CHECK.baseRetryWaitMs}ms`,
      description: 'the wait before the first retry of a policy Check; it doubles at each retry',
    },
    {
      name: 'policy-check-max-retry-wait', type: 'duration', valueName: 'DURATION', default: '1s',
      description: 'the longest wait between retries of a policy Check (at most 60s)',
    },
    { name: 'policy-address', type: 'string', valueName: 'ADDR', default: '127.0.0.1', description: 'address of --policy-port (an IP literal; plaintext: off loopback it needs --allow-plaintext-xds)' },
    {
      name: 'prometheus', type: 'string', valueName: 'URL',
      description: 'the dashboard reads request metrics from this Prometheus server (instant queries, /api/v1/query) instead of pulling the sidecars\' /stats/prometheus',
    },
    {
      name: 'dashboard-interval', type: 'duration', valueName: 'DURATION', default: '5s',
      description: 'how often the dashboard (GET /dashboard) pulls request metrics while someone looks at it (0: never)',
    },
    {
      name: 'tracing-sampling', type: 'string', valueName: 'PCT',
      description: 'turn tracing on in every sidecar: the percentage of requests sampled (0-100); absent: no tracing',
      validate: (v) => { const p = parseSamplingPercent(String(v)); return typeof p === 'string' ? p : undefined; },
    },
    {
      name: 'tracing-zipkin', type: 'string', valueName: 'HOST:PORT',
      description: "where the sidecars send spans (Zipkin v2 JSON to /api/v2/spans): a Zipkin or Jaeger collector; default: this control plane's admin address",
      validate: (v) => { const a = parseCollectorAddress(String(v)); return typeof a === 'string' ? a : undefined; },
    },
    LOG_LEVEL_OPTION,
    LOG_FORMAT_OPTION,
  ],
};

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address);
}

export function parseControlOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ControlOptions | 'help' {
  const parsed = parseCommandOptions(CONTROL_COMMAND, argv, env);
  if (parsed.help) return 'help';
  const v = parsed.values;
  const configDir = v['config-dir'] as string | undefined;
  if (configDir === '') throw new OptionsError('--config-dir needs a folder');
  if ((v['push-debounce-max'] as number) < (v['push-debounce-quiet'] as number)) {
    throw new OptionsError(`--push-debounce-max (${String(v['push-debounce-max'])} ms) must not be shorter than --push-debounce-quiet (${String(v['push-debounce-quiet'])} ms)`);
  }
  const accessLog: MeshAccessLog = {
    file: v['access-log-file'] as string,
    encoding: v['access-log-encoding'] as AccessLogEncoding,
    format: v['access-log-format'] as string,
  };
  const accessLogProblem = meshAccessLogProblem(accessLog);
  if (accessLogProblem !== undefined) throw new OptionsError(`--access-log-format: ${accessLogProblem}`);
  const trustDomain = v['trust-domain'] as string;
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem !== undefined) throw new OptionsError(`--trust-domain: ${tdProblem}`);
  const caCert = v['ca-cert'] as string | undefined;
  const caKey = v['ca-key'] as string | undefined;
  const caChain = v['ca-chain'] as string | undefined;
  if ((caCert === undefined) !== (caKey === undefined)) throw new OptionsError('--ca-cert and --ca-key go together');
  if (caChain !== undefined && caCert === undefined) throw new OptionsError('--ca-chain needs --ca-cert and --ca-key');
  const ttl = v['workload-cert-ttl'] as number;
  const maxTtl = v['max-workload-cert-ttl'] as number;
  if (ttl < 1000) throw new OptionsError(`--workload-cert-ttl must be at least 1s (got ${ttl} ms)`);
  if (maxTtl < ttl) throw new OptionsError('--max-workload-cert-ttl must not be shorter than --workload-cert-ttl');
  if (!isLoopback(v['xds-address'] as string) && v['allow-plaintext-xds'] !== true) {
    throw new OptionsError(`--xds-address ${String(v['xds-address'])} is not loopback: plaintext xDS there needs --allow-plaintext-xds (proxies elsewhere should use --secure-xds-port)`);
  }
  const policyAddress = v['policy-address'] as string;
  if (isIP(policyAddress) === 0) throw new OptionsError(`--policy-address must be an IP address, got '${policyAddress}'`);
  if ((v['policy-port'] as number) >= 0 && !isLoopback(policyAddress) && v['allow-plaintext-xds'] !== true) {
    throw new OptionsError(`--policy-address ${policyAddress} is not loopback: the plaintext policy port there needs --allow-plaintext-xds`);
  }
  const policyCheck: MeshPolicyCheck = Object.freeze({
    failClosed: v['policy-check-fail-closed'] === true,
    timeoutMs: v['policy-check-timeout'] as number,
    maxRetry: v['policy-check-retries'] as number,
    baseRetryWaitMs: v['policy-check-retry-wait'] as number,
    maxRetryWaitMs: v['policy-check-max-retry-wait'] as number,
  });
  const policyCheckProblem = meshPolicyCheckProblem(policyCheck);
  if (policyCheckProblem !== undefined) throw new OptionsError(policyCheckProblem);
  const rootNamespace = v['root-namespace'] as string;
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(rootNamespace)) throw new OptionsError(`--root-namespace must be a namespace name (a DNS label), got "${rootNamespace}"`);
  const securePort = v['secure-xds-port'] as number;
  const prometheus = v.prometheus as string | undefined;
  if (prometheus !== undefined) {
    let url: URL | null = null;
    try {
      url = new URL(prometheus);
    } catch {
      url = null;
    }
    if (url === null || url.protocol !== 'http:') throw new OptionsError(`--prometheus must be an http:// URL of a Prometheus server, e.g. http://127.0.0.1:9090, got '${prometheus}'`);
  }
  const sampling = v['tracing-sampling'] as string | undefined;
  const zipkin = v['tracing-zipkin'] as string | undefined;
  if (zipkin !== undefined && sampling === undefined) throw new OptionsError('--tracing-zipkin needs --tracing-sampling (tracing is off without it)');
  const collector = zipkin === undefined
    ? { host: v['admin-address'] as string, port: v['admin-port'] as number }
    : parseCollectorAddress(zipkin) as { host: string; port: number };
  const tracing: MeshTracing | null = sampling === undefined ? null : { samplingPercent: parseSamplingPercent(sampling) as number, collector };
  return {
    prometheusUrl: prometheus ?? null,
    dashboardIntervalMs: v['dashboard-interval'] as number,
    tracing,
    tracingCollector: collector,
    secureXdsPort: securePort < 0 ? null : securePort,
    secureXdsAddress: v['secure-xds-address'] as string,
    serverNames: (v['server-name'] as readonly string[] | undefined) ?? [],
    ca: {
      trustDomain,
      operatorCa: caCert === undefined ? null : { cert: resolve(caCert), key: resolve(caKey!), chain: caChain === undefined ? null : resolve(caChain) },
      workloadCertTtlMs: ttl,
      maxWorkloadCertTtlMs: maxTtl,
      rootRotationOverlapMs: v['root-rotation-overlap'] as number,
    },
    policyAdapters: ((v['policy-adapter'] as readonly string[] | undefined) ?? []).map((file) => resolve(file)),
    policyThreads: v['policy-threads'] as number,
    policyPort: (v['policy-port'] as number) < 0 ? null : v['policy-port'] as number,
    policyAddress,
    policyCheck,
    configDir: configDir === undefined ? null : resolve(configDir),
    dataDir: resolve(v['data-dir'] as string),
    adminPort: v['admin-port'] as number,
    adminAddress: v['admin-address'] as string,
    adminAllowedHosts: (v['admin-allowed-host'] as readonly string[] | undefined) ?? [],
    logLevel: v['log-level'] as string,
    logFormat: v['log-format'] as LogFormat,
    xdsPort: v['xds-port'] as number,
    xdsAddress: v['xds-address'] as string,
    pushDebounceQuietMs: v['push-debounce-quiet'] as number,
    pushDebounceMaxMs: v['push-debounce-max'] as number,
    registrationGraceMs: v['registration-grace'] as number,
    pathNormalization: v['path-normalization'] as PathNormalizationType,
    h2UpgradePolicy: v['h2-upgrade-policy'] as MeshH2UpgradePolicy,
    accessLog,
    rootNamespace,
  };
}

/** A started control process; close() stops watching and serving and closes the store. */
export interface ControlProcess {
  readonly store: ConfigStore;
  readonly admin: AdminHttpServer;
  readonly ads: AdsServer;
  /** The bound ADS port. */
  readonly xdsPort: number;
  /** The bound TLS port (xDS and certificates), or null when off. */
  readonly secureXdsPort: number | null;
  /** The bound policy port (--policy-port), or null when off. */
  readonly policyPort: number | null;
  readonly ca: CertificateAuthority;
  readonly publisher: MeshPublisher;
  close(): Promise<void>;
}

/** A start failure a person can act on (printed without a stack). */
export class ControlStartError extends Error {
  override readonly name = 'ControlStartError';
}

/** Opens the store, reads the folder, starts the admin API. */
export async function startControl(options: ControlOptions, log: Logger): Promise<ControlProcess> {
  // Loaded here so `--help` and option errors stay instant (no LMDB, uWS or YAML load).
  const [{ ConfigStore }, { watchConfigDir }, { emptyDirSnapshot }, { startAdminHttp }, { configAdminRoutes }, { ensureAdminToken }] = await Promise.all([
    import('./store/config-store.js'), import('./store/config-dir-watcher.js'), import('./store/dir-snapshot.js'),
    import('../src/admin/admin-http.js'), import('./admin/config-admin-routes.js'), import('./admin/admin-token.js'),
  ]);
  const [{ createAdsServer }, { SnapshotCache }, { MeshPublisher }, { ServiceRegistry }, { xdsAdminRoutes }] = await Promise.all([
    import('./xds/ads-server.js'), import('./xds/snapshot-cache.js'), import('./mesh/mesh-publisher.js'),
    import('./registry/service-registry.js'), import('./admin/xds-admin-routes.js'),
  ]);
  const [{ CertificateAuthority: Ca }, { CaMaterialError }, { addCertificateService }, { caAdminRoutes }, { ServingCertificate }, { tokenStreamAuthenticator }] = await Promise.all([
    import('./ca/certificate-authority.js'), import('./ca/ca-material.js'), import('./ca/certificate-service.js'), import('./ca/ca-admin-routes.js'),
    import('./ca/serving-certificate.js'), import('./ca/xds-stream-identity.js'),
  ]);
  const [{ PolicyRuntime }, { addMixerService }, { addExtAuthzService }, { loadPluginAdapters, pluginUrl }, { loadDispatchPolicy }] = await Promise.all([
    import('./mixer/policy-runtime.js'), import('./mixer/mixer-service.js'), import('./mixer/ext-authz-service.js'),
    import('./mixer/plugin-adapters.js'), import('./mixer/dispatch-policy.js'),
  ]);
  const { WorkloadDirectory, meshWorkloads } = await import('./mixer/workload-directory.js');
  const [{ Dashboard }, { SpanStore }, { zipkinRoutes }] = await Promise.all([
    import('./dashboard/dashboard.js'), import('./tracing/span-store.js'), import('./tracing/zipkin-routes.js'),
  ]);
  const plugins = options.policyAdapters.map(pluginUrl);
  try {
    // Before the store reads any config: handler params are validated by their adapter.
    await loadPluginAdapters(plugins);
  } catch (err) {
    throw new ControlStartError(`--policy-adapter: ${(err as Error).message}`);
  }
  if (options.configDir !== null) {
    const info = await stat(options.configDir).catch(() => null);
    if (info === null || !info.isDirectory()) throw new ControlStartError(`--config-dir ${options.configDir} is not a folder`);
  }
  let lock: DataDirLock;
  try {
    lock = lockDataDir(options.dataDir);
  } catch (err) {
    throw new ControlStartError((err as Error).message);
  }
  let token: string;
  try {
    token = ensureAdminToken(options.dataDir, (path, mode) =>
      log.warn({ path, mode: mode.toString(8) }, 'the admin token file was readable by others; its mode is now 0600'));
  } catch (err) {
    lock.release();
    throw new ControlStartError(`cannot create or read the admin token in ${options.dataDir}: ${(err as Error).message}`);
  }
  const writeToken = {
    token,
    // Says where the token lives without naming the path: an unauthenticated caller learns nothing of the host.
    hint: `\`isthmus apply\` and \`isthmus delete\` read it from admin-token in the control plane's --data-dir, or take --token / ISTHMUS_TOKEN`,
  };
  let store: ConfigStore;
  try {
    store = ConfigStore.open(options.dataDir, { onListenerError: (err) => log.error({ err }, 'config change subscriber failed') });
  } catch (err) {
    lock.release();
    throw new ControlStartError(`cannot open the data directory ${options.dataDir}: ${(err as Error).message}`);
  }
  let watcher: ConfigDirWatcher | null = null;
  let stopping = false;
  const registry = new ServiceRegistry({ gracePeriodMs: options.registrationGraceMs });
  let publisher: MeshPublisher | null = null;
  let ads: AdsServer | null = null;
  let policy: PolicyRuntime | null = null;
  let policyServer: NativeGrpcServer | null = null;
  let serving: ServingCertificate | null = null;
  let dashboard: InstanceType<typeof Dashboard> | null = null;
  try {
    if (options.configDir !== null) watcher = await watchConfigDir(options.configDir, store, log);
    else await store.syncDirectory(emptyDirSnapshot()); // the folder layer mirrors this run's folder: none
    const cache = new SnapshotCache();
    publisher = new MeshPublisher({
      config: store, registry, cache, log: log.child({ component: 'xds' }),
      debounce: { quietMs: options.pushDebounceQuietMs, maxDelayMs: options.pushDebounceMaxMs },
      meshOptions: {
        pathNormalization: options.pathNormalization, h2UpgradePolicy: options.h2UpgradePolicy, accessLog: options.accessLog, trustDomain: options.ca.trustDomain, rootNamespace: options.rootNamespace,
        tracing: options.tracing,
        tracingCollector: options.tracingCollector,
        policyCheck: options.policyCheck,
      },
    });
    let ca: CertificateAuthority;
    try {
      ca = await Ca.open(options.ca, store.ca, options.dataDir, log.child({ component: 'ca' }));
    } catch (err) {
      if (err instanceof CaMaterialError) throw new ControlStartError(err.message);
      throw err;
    }
    const meshPublisher = publisher;
    ca.onTrustBundle((pem) => meshPublisher.setTrustBundle(pem)); // ROOTCA over ADS
    ads = createAdsServer(cache, publisher.callbacks, { logger: log.child({ component: 'xds' }), authenticate: tokenStreamAuthenticator(ca) });
    addCertificateService(ads.server, ca, log.child({ component: 'ca' }));
    const policyLog = log.child({ component: 'mixer' });
    policy = await PolicyRuntime.start({
      store, load: loadDispatchPolicy, log: policyLog, threads: options.policyThreads, plugins, logLevel: options.logLevel,
      workloads: new WorkloadDirectory(meshWorkloads(registry, publisher)),
    });
    if (options.policyPort !== null) {
      const { NativeGrpcServer } = await import('./mixer/native-grpc-server.js');
      policyServer = new NativeGrpcServer();
    }
    addMixerService(ads.server, policy, policyLog, policyServer);
    addExtAuthzService(ads.server, policy, policyLog, policyServer);
    const rules = policy;
    let policyPort: number | null = null;
    if (policyServer !== null) {
      policyPort = await policyServer.listen(options.policyAddress, options.policyPort!).catch((err: Error) => {
        throw new ControlStartError(`--policy-port: ${err.message}`);
      });
    }
    const xdsPort = await ads.listen(options.xdsAddress, options.xdsPort).catch((err: Error) => {
      throw new ControlStartError(err.message);
    });
    let secureXdsPort: number | null = null;
    if (options.secureXdsPort !== null) {
      const names = ['localhost', '127.0.0.1', '::1', CONTROL_SERVER_NAME, ...options.serverNames];
      if (options.secureXdsAddress !== '0.0.0.0' && options.secureXdsAddress !== '::') names.push(options.secureXdsAddress);
      // Re-issued at each root rotation phase and at half its life; new handshakes get the new one.
      serving = new ServingCertificate(ca, names, log.child({ component: 'ca' }));
      secureXdsPort = await ads.listenTls(options.secureXdsAddress, options.secureXdsPort, serving.credentials).catch((err: Error) => {
        throw new ControlStartError(err.message);
      });
    }
    const mesh = publisher;
    const caNow = ca;
    const spans = new SpanStore();
    dashboard = new Dashboard(
      { ads, publisher, store, spans },
      { intervalMs: options.dashboardIntervalMs, prometheusUrl: options.prometheusUrl },
      log.child({ component: 'dashboard' }),
    );
    const routes = [
      ...configAdminRoutes(store, {
        configDir: options.configDir, isReady: () => !stopping, extraMetrics: () => mesh.metrics.render() + rules.metricsText() + (policyServer?.metricsText() ?? '') + renderCaMetrics(caNow) + renderProcessMetrics() + spans.metricsText(), writeToken,
      }, log),
      ...xdsAdminRoutes({ ads, cache, publisher }),
      ...caAdminRoutes(ca, writeToken, log.child({ component: 'ca' })),
      ...zipkinRoutes(spans),
      ...dashboard.routes(),
    ];
    const admin = await startAdminHttp(routes, { address: options.adminAddress, port: options.adminPort, allowedHosts: options.adminAllowedHosts, log }).catch((err: Error) => {
      throw new ControlStartError(err.message);
    });
    // Spans go to this admin port by default: with --admin-port 0 its number is known only now (a proxy that connected
    // in the moments before gets tracing at the next push).
    if (options.tracingCollector.port === 0) options.tracingCollector.port = admin.port;
    const server = ads;
    const board = dashboard;
    return {
      store,
      admin,
      ads: server,
      xdsPort,
      secureXdsPort,
      policyPort,
      ca,
      publisher: mesh,
      async close() {
        stopping = true;
        watcher?.close();
        admin.close();
        board.close();
        mesh.close();
        ca.close();
        serving?.close();
        policyServer?.close(true);
        await server.close();
        await rules.close();
        registry.close();
        await store.close();
        lock.release();
      },
    };
  } catch (err) {
    watcher?.close();
    dashboard?.close();
    serving?.close();
    policyServer?.close(true);
    publisher?.close();
    await ads?.close();
    await policy?.close();
    registry.close();
    await store.close();
    lock.release();
    throw err;
  }
}

/** Entry point from src/cli/main.ts; resolves once serving (the process then lives until a signal). */
export async function run(argv: string[]): Promise<number> {
  const options = parseControlOptions(argv);
  if (options === 'help') {
    process.stdout.write(helpText(CONTROL_COMMAND));
    return 0;
  }
  const log = createLogger('isthmus-control', options.logLevel, { format: options.logFormat });
  const stop = new GracefulStop(log, 'control').onSignals();
  let control: ControlProcess;
  try {
    control = await startControl(options, log);
  } catch (err) {
    if (!(err instanceof ControlStartError)) throw err;
    reportStartFailure(log, 'control', err.message);
    exitProcess(1);
  }
  // Scripts and tests read the port from this line: print it even when --log-level hides other info lines.
  const readyLog = log.level === 'silent' ? log : log.child({}, { level: 'info' });
  readyLog.info({
    admin: { address: options.adminAddress, port: control.admin.port },
    xds: { address: options.xdsAddress, port: control.xdsPort },
    secureXds: control.secureXdsPort === null ? null : { address: options.secureXdsAddress, port: control.secureXdsPort },
    policy: control.policyPort === null ? null : { address: options.policyAddress, port: control.policyPort },
    trustDomain: options.ca.trustDomain,
    rootCert: `${options.dataDir}/root-cert.pem`,
    configDir: options.configDir,
    dataDir: options.dataDir,
    revision: control.store.revision(),
    resources: control.store.resources().length,
  }, 'control ready');
  stop.started({ shutdown: () => control.close() });
  return 0;
}
