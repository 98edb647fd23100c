// The main thread of `isthmus proxy`: owns the config (validate, resolve
// ports, write a version to LMDB, announce it), the worker threads and the
// admin API. Nothing here is on the request path.
import { createMixerCounters, renderMixerCounters } from '../filters/mixer/mixer-counters.js';
import { createTracingCounters, renderTracingCounters } from '../tracing/tracing-counters.js';
import { PolicyClient } from './policy-client.js';
import { readFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { loadBootstrapFile, parseBootstrap } from '../../src/config/parse-bootstrap.js';
import { ConfigError, formatProblem } from '../../src/config/config-error.js';
import { lockDataDir, type DataDirLock } from '../../src/store/data-dir-lock.js';
import type { Bootstrap } from '../../src/config/bootstrap-types.js';
import { JSON_ONLY_FIELD, colorWanted, resolveLogFormat, setLogLevel, type Logger } from '../../src/log.js';
import type { ConfigStore } from '../../src/store/config-store.js';
import { MemoryConfigStore } from '../../src/store/memory-config-store.js';
import { mergeWorkerStats } from '../../src/stats/merge-worker-stats.js';
import { renderPrometheusText } from '../../src/stats/prometheus-text.js';
import { ISTIO_DURATION_BUCKETS_MS, type WorkerInit } from '../worker-protocol.js';
import type { Reply } from '../../src/admin/admin-http.js';
import { envoyConfigDumpReply, serverInfo, serverStats } from './admin-views.js';
import { appliedText, configCounts, rejectedText } from './config-change-text.js';
import { statsFromPrometheus, type StatEntry } from './envoy-stats.js';
import { certsView, redactPrivateKeys } from './certs-view.js';
import { startAdminServer, type AdminBackend, type AdminServer, type ListenerAddress } from './admin-server.js';
import { watchBootstrap, type BootstrapWatcher } from './bootstrap-watcher.js';
import { TlsFileWatcher } from './tls-file-watcher.js';
import { clustersJson, mergeClusterStatus, renderClustersText, type MergedCluster } from './cluster-status-report.js';
import { PortReservations } from './port-reservations.js';
import type { ProxyOptions } from './proxy-options.js';
import type { ControlTrust } from './identity-client.js';
import type { WorkerSupervisor } from './worker-supervisor.js';
import { InThreadDataPlane } from './in-thread-data-plane.js';
import { MixedDataPlaneHost } from './mixed-data-plane-host.js';
import type { DataPlaneHost, ThreadModel } from './data-plane-host.js';
import { HEADER, SharedState } from '../shared-state/state-layout.js';
import { HealthChecker } from './health-checker.js';
import { DnsClusters } from './dns-clusters.js';
import { OutlierSweeper } from './outlier-sweeper.js';
import { endpointFlagsLookup, resilienceStats } from './shared-state-report.js';
import { createConnectionCounts } from '../connection-limit.js';
import { StateSlots } from './state-slots.js';
import { createRateLimitBuffer, RateLimitTable } from '../shared-state/rate-limit-buckets.js';
import { ignoredRuntimeKeys, localRateLimitPrometheus } from './local-rate-limit-stats.js';
import { compressorPrometheus } from './compressor-stats.js';
import type { XdsClient } from './xds-client.js';
import { EMPTY_BOOTSTRAP, mergeBootstraps } from './xds-client-merge.js';
import type { WorkloadIdentity } from './workload-identity.js';
import { secretsView } from './secrets-view.js';
import { resolveSdsSecrets, sdsSecretNames, type SdsSecrets } from '../../src/config/sds-secrets.js';
import { adsSecretNames, mergeSecrets, withoutWarming, type Warming } from './sds-warming.js';
import { releaseStartupPages, stopStartupReleaser } from '../../src/process/startup-pages.js';
import { collectStartupGarbage } from '../../src/process/startup-garbage.js';

/** Where the control plane puts the outbound listener (its mesh option outboundAddress, Istio's 127.0.0.1). */
const OUTBOUND_ADDRESS = '127.0.0.1';

/** How long the admin API waits for workers' stats/clusters replies. */
const WORKER_QUERY_TIMEOUT_MS = 1000;

export interface RejectedConfig {
  readonly at: string;
  readonly reason: string;
  /** Every problem, one `file:line: message` per entry. */
  readonly problems: readonly string[];
}

/** Startup failed before anything was served; the message lists every problem. */
export class ProxyStartError extends Error {
  override readonly name = 'ProxyStartError';
}

export class ProxyAgent implements AdminBackend {
  private activeVersion = 0;
  private activeBootstrap: Bootstrap | undefined;
  /** When the active version was applied (config_dump's last_updated). */
  private lastUpdated = '';
  /** The bootstrap file's text as last applied, and when (config_dump's static entries). */
  private fileText: string | null = null;
  private fileAppliedAt = '';
  private readonly startedAt = Date.now();
  private lastRejected: RejectedConfig | null = null;
  private configRejectedTotal = 0;
  private admin: AdminServer | null = null;
  private adminAddress = '';
  private watcher: BootstrapWatcher | null = null;
  private tlsFiles: TlsFileWatcher | null = null;
  private readyLogged = false;
  private reloadChain: Promise<void> = Promise.resolve();
  private reloadQueued = false;
  private stopping: Promise<void> | null = null;
  private readonly reservations = new PortReservations();
  /** Where the data plane runs: this thread (--workers 1) or N worker threads. */
  private readonly supervisor: DataPlaneHost;
  /** Config versions: LMDB for worker threads to read, memory when the data plane is on this thread. */
  private readonly store: ConfigStore;
  /** The bootstrap file's config (empty in pure --control mode); xDS resources are added to it. */
  private fileBootstrap: Bootstrap = EMPTY_BOOTSTRAP;
  private xdsBootstrap: Bootstrap = EMPTY_BOOTSTRAP;
  private xds: XdsClient | null = null;
  /** Secrets the control plane sent over ADS (SDS); ROOTCA here replaces the one from the CSR answer. */
  private adsSecrets: SdsSecrets = {};
  /** SDS names the active config asks the control plane for. */
  private secretNames: string[] = [];
  /** Listeners and clusters held back until the secrets they name arrive. */
  private warming: readonly Warming[] = [];
  /** --token-file: the workload certificate, its key (memory only) and the trust bundle, as SDS secrets. */
  private identity: WorkloadIdentity | null = null;
  /** --control-ca plus what the CA's answers taught (identity-client.ts); made by whichever of xDS and identity starts first. */
  private controlTrust: ControlTrust | null = null;
  private tokenServiceAccount: string | undefined;
  private xdsSynced = false;
  /** Circuit breakers, endpoint health and outlier counters shared with every worker; slots assigned per config version. */
  private readonly sharedState: SharedState;
  /** The local rate limit's buckets and counters, shared with every data plane. */
  private readonly rateLimits = new RateLimitTable(createRateLimitBuffer());
  /** The policy filter's proxy-wide counters (workers bump them; /stats/prometheus reads them). */
  private readonly mixerCounters = createMixerCounters();
  /** Tracing's proxy-wide counters (workers bump them; /stats/prometheus reads them). */
  private readonly tracingCounters: Int32Array;
  /** The policy filter's Check/Report path to the policy server (gRPC loads on the first Check only). */
  private readonly policy: PolicyClient;
  private readonly slots: StateSlots;
  private readonly healthChecker: HealthChecker;
  private readonly outliers: OutlierSweeper;
  /** STRICT_DNS / LOGICAL_DNS resolution; a change of addresses applies the config again (a new version). */
  private readonly dns: DnsClusters;
  /** The last applied config before DNS endpoints were filled in (what a DNS change re-applies). */
  private appliedInput: Bootstrap | undefined;
  private dnsReapplyQueued = false;

  private constructor(
    private readonly options: ProxyOptions,
    private readonly log: Logger,
    private readonly onQuit: () => void,
    private readonly dataDirLock: DataDirLock,
    store: ConfigStore,
    /** The worker-thread host's class, loaded only for --workers N >= 2 (node:worker_threads is ≈ 1.5 MB RSS). */
    Supervisor: typeof WorkerSupervisor | null,
  ) {
    this.store = store;
    this.sharedState = SharedState.create({ clusters: options.maxClusters, endpoints: options.maxEndpoints, workers: options.workers });
    this.tracingCounters = createTracingCounters(options.workers);
    this.slots = new StateSlots(this.sharedState);
    this.healthChecker = new HealthChecker(this.sharedState, log.child({ component: 'health-check' }));
    this.outliers = new OutlierSweeper(this.sharedState, log.child({ component: 'outlier-detection' }));
    this.dns = new DnsClusters(log.child({ component: 'dns' }), (cluster) => this.dnsChanged(cluster));
    const init: Omit<WorkerInit, 'workerId'> = {
      dataDir: options.dataDir,
      serviceName: options.service ?? 'unknown',
      namespace: options.namespace,
      accessLog: options.accessLog,
      logLevel: options.logLevel,
      logFormat: resolveLogFormat(options.logFormat),
      logColor: colorWanted(),
      maxHeadBytes: options.maxHeadBytes,
      maxHeaders: options.maxHeaders,
      maxConnections: options.maxConnections,
      transport: options.transport,
      connectionCounts: createConnectionCounts(options.workers),
      sharedState: this.sharedState.buffer,
      rateLimitState: this.rateLimits.ints.buffer as SharedArrayBuffer,
      mixerCounters: this.mixerCounters.buffer as SharedArrayBuffer,
      tracingCounters: this.tracingCounters.buffer as SharedArrayBuffer,
      // One session-ticket key for every worker (SO_REUSEPORT sends a resuming client to any of them) and every
      // certificate reload; random per process, so tickets never outlive the proxy. The in-thread data plane
      // (--workers 1) gets it through the same init.
      tlsTicketKey: randomBytes(80),
      startupPages: options.startupPages,
    };
    this.policy = new PolicyClient({
      control: options.control === undefined ? null : { target: options.control.target, caPath: options.identity?.controlCa ?? null, policyPort: options.control.policyPort },
      clusterEndpoint: (name) => {
        const endpoint = this.activeBootstrap?.clusters.find((c) => c.name === name)?.endpoints[0];
        return endpoint === undefined ? null : `${endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address}:${endpoint.port}`;
      },
      counters: this.mixerCounters,
      log: log.child({ component: 'policy' }),
    });
    if (options.control?.policyPort != null && options.identity?.controlCa != null) {
      // The policy port is plaintext: Checks (with the request headers their attributes carry) leave TLS behind.
      log.warn({ policyPort: options.control.policyPort }, '--policy-port sends Mixer Checks in plaintext while --control-ca secures xDS; use it only where the path to the control plane is trusted (loopback, the same host)');
    }
    const policy = this.policy;
    const onChange = (): void => this.onWorkersChanged();
    const onOutlierEjection = (m: { cluster: string; address: string; port: number; kind: number }): void =>
      this.outliers.onWorkerEjection(m.cluster, m.address, m.port, m.kind);
    // One worker runs on this thread: no second isolate (DESIGN.md, "Memory today").
    const inThread = (): InThreadDataPlane => new InThreadDataPlane({ init, store: this.store, log, onChange, onOutlierEjection, policy });
    const threads = (Threads: typeof WorkerSupervisor, firstWorkerId: number): WorkerSupervisor => new Threads({
      count: options.workers - firstWorkerId,
      firstWorkerId,
      workerUrl: new URL('../worker-main.js', import.meta.url),
      init,
      log,
      onChange,
      onOutlierEjection,
      policy,
      onWorkerExit: (workerId) => {
        // A crashed worker's in-flight requests, retries and connections would otherwise stay counted for good.
        const released = this.sharedState.releaseWorker(workerId);
        if (released > 0) log.warn({ workerId, released }, 'gave back the circuit-breaker resources the exited worker held');
      },
    });
    // --main-thread-data-plane: worker 0 on this thread, the rest on threads (mixed-data-plane-host.ts).
    this.supervisor = Supervisor === null
      ? inThread()
      : options.mainThreadDataPlane ? new MixedDataPlaneHost(inThread(), threads(Supervisor, 1), () => releaseStartupPages(options.startupPages)) : threads(Supervisor, 0);
  }

  /** Validates the bootstrap, reserves ports, writes version 1.., starts workers and the admin API; throws ProxyStartError. */
  static async start(options: ProxyOptions, log: Logger, onQuit: () => void): Promise<ProxyAgent> {
    const text = options.bootstrap === undefined ? null : await readFile(options.bootstrap, 'utf8').catch(() => null);
    let bootstrap: Bootstrap = EMPTY_BOOTSTRAP;
    try {
      if (options.bootstrap !== undefined) bootstrap = await loadBootstrapFile(options.bootstrap);
    } catch (err) {
      throw new ProxyStartError(err instanceof Error ? err.message : String(err));
    }
    let lock: DataDirLock;
    try {
      lock = lockDataDir(options.dataDir);
    } catch (err) {
      throw new ProxyStartError(err instanceof Error ? err.message : String(err));
    }
    // Also on a forced exit that skips shutdown().
    process.once('exit', () => lock.release());
    // lmdb (and msgpackr) load only when worker threads need a store they can read (≈ 5 MB RSS otherwise).
    const store = options.workers === 1 ? new MemoryConfigStore() : (await import('../../src/store/proxy-store.js')).ProxyStore.open(options.dataDir);
    // layered_runtime overload.global_downstream_max_connections: the limit when --max-connections is not given.
    const runtimeMax = bootstrap.runtime?.globalDownstreamMaxConnections ?? null;
    const effective = runtimeMax !== null && options.maxConnections === 0 ? { ...options, maxConnections: runtimeMax } : options;
    const Supervisor = options.workers === 1 ? null : (await import('./worker-supervisor.js')).WorkerSupervisor;
    const agent = new ProxyAgent(effective, log, onQuit, lock, store, Supervisor);
    agent.warnRuntime(bootstrap);
    agent.fileBootstrap = bootstrap;
    agent.fileText = text;
    try {
      if (options.identity !== undefined && options.control !== undefined) await agent.startIdentity(options.identity, options.control.target);
      await agent.apply(bootstrap, 'startup');
      agent.fileAppliedAt = agent.lastUpdated;
      await agent.supervisor.start();
      const adminAddress = options.adminFromDefaults && bootstrap.admin ? bootstrap.admin : { address: options.adminAddress, port: options.adminPort };
      agent.adminAddress = adminAddress.address;
      agent.admin = await startAdminServer(agent, {
        ...adminAddress, enableDebugEndpoints: options.enableDebugEndpoints, allowedHosts: options.adminAllowedHosts, log,
        ...(bootstrap.adminAccessLogPath === undefined ? {} : { accessLogPath: bootstrap.adminAccessLogPath }),
      });
      if (options.control !== undefined) await agent.startXds(options.control);
    } catch (err) {
      await agent.shutdown('startup failed');
      throw new ProxyStartError(err instanceof Error ? err.message : String(err));
    }
    if (options.bootstrap !== undefined) {
      agent.watcher = watchBootstrap(
        options.bootstrap,
        () => agent.reload('file changed'),
        (err) => log.warn({ err }, 'bootstrap watch failed; SIGHUP still reloads'),
      );
      agent.watcher.markLoaded(text);
      agent.tlsFiles = new TlsFileWatcher(
        () => agent.reload('certificate file changed'),
        (err) => log.warn({ err }, 'certificate file watch failed; SIGHUP still reloads'),
      );
      if (agent.activeBootstrap !== undefined) await agent.tlsFiles.update(agent.activeBootstrap);
    }
    agent.onWorkersChanged();
    return agent;
  }

  get adminPort(): number {
    return this.admin?.port ?? 0;
  }

  /** Re-reads the bootstrap; an invalid one is rejected and counted, the last good one stays. Calls are serialized and coalesced. */
  reload(reason: string): Promise<void> {
    if (this.stopping !== null) return Promise.resolve();
    if (this.reloadQueued) return this.reloadChain;
    this.reloadQueued = true;
    this.reloadChain = this.reloadChain.then(async () => {
      this.reloadQueued = false;
      if (this.stopping === null) await this.reloadNow(reason);
    });
    return this.reloadChain;
  }

  private async reloadNow(reason: string): Promise<void> {
    if (this.options.bootstrap === undefined) return; // pure --control mode: nothing to re-read
    const text = await readFile(this.options.bootstrap, 'utf8').catch(() => null);
    this.watcher?.markLoaded(text);
    // The text read once is the version parsed, and its digest names it in the "written" or "rejected" line.
    if (text !== null) reason = `${reason}, sha256 ${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
    let bootstrap: Bootstrap;
    try {
      bootstrap = text === null ? await loadBootstrapFile(this.options.bootstrap) : parseBootstrap(text, this.options.bootstrap);
    } catch (err) {
      this.reject(reason, err);
      return;
    }
    try {
      await this.apply(mergeBootstraps(bootstrap, this.xdsBootstrap), reason);
      if (JSON.stringify(bootstrap.runtime) !== JSON.stringify(this.fileBootstrap.runtime)) this.warnRuntime(bootstrap, true);
      this.fileBootstrap = bootstrap;
      this.fileText = text;
      this.fileAppliedAt = this.lastUpdated;
      if (this.activeBootstrap !== undefined) await this.tlsFiles?.update(this.activeBootstrap);
    } catch (err) {
      this.reject(reason, err);
    }
  }

  /**
   * --control mode: loads the xDS protos (lazily: a file-only proxy never pays for them; the RSS cost is
   * logged) and starts the ADS client, whose complete configs go through apply() like a file reload.
   */
  private async startXds(control: NonNullable<ProxyOptions['control']>): Promise<void> {
    const rssBefore = process.memoryUsage().rss;
    const startedAt = performance.now();
    const [{ XdsClient }, { buildNode, stableInstance }, { loadXdsProtos }, { ControlTrust, bearerMetadata }] = await Promise.all([
      import('./xds-client.js'), import('../../src/xds/xds-node.js'), import('../../src/xds/xds-protos.js'), import('./identity-client.js'),
    ]);
    loadXdsProtos();
    this.log.info(
      { ms: Math.round(performance.now() - startedAt), rssDeltaMB: Math.round((process.memoryUsage().rss - rssBefore) / 1e5) / 10 },
      'xds protos loaded',
    );
    // A port-0 listener port is reserved now, so the node can announce the real one (the control plane's listener names it).
    const outboundPort = control.outboundPort === 0 ? this.reservations.pin(OUTBOUND_ADDRESS, 0, 'outbound (--outbound-port 0)') : control.outboundPort;
    const inboundPort = control.inboundPort === 0 ? this.reservations.pin(control.workloadAddress, 0, 'inbound (--inbound-port 0)') : control.inboundPort;
    const node = buildNode({
      service: this.options.service ?? 'unknown',
      namespace: this.options.namespace,
      version: control.version,
      // With a workload identity the proxy takes and makes mTLS: Istio's label tells the control plane (auto mTLS, inbound TLS).
      labels: this.options.identity !== undefined ? { ...control.labels, 'security.istio.io/tlsMode': 'istio' } : control.labels,
      address: control.workloadAddress,
      appPort: control.appPort,
      servicePort: control.servicePort,
      outboundPort,
      ...(inboundPort !== undefined ? { inboundPort } : {}),
      // The bootstrap token's service account is this workload's, unless --service-account says it.
      ...((control.serviceAccount ?? this.tokenServiceAccount) !== undefined ? { serviceAccount: (control.serviceAccount ?? this.tokenServiceAccount)! } : {}),
      ...(control.locality !== undefined ? { locality: control.locality } : {}),
      ...(control.router ? { router: true } : {}),
      ...(this.adminPort !== 0 ? { adminPort: this.adminPort } : {}),
    }, stableInstance(this.options.dataDir));
    this.xds = new XdsClient({
      target: control.target,
      ...(this.options.identity?.controlCa != null ? { credentials: () => (this.controlTrust ??= new ControlTrust(this.options.identity!.controlCa)).credentials() } : {}),
      ...(this.options.identity !== undefined ? { callMetadata: () => bearerMetadata(this.options.identity!.tokenFile) } : {}),
      protocol: control.protocol,
      node,
      log: this.log.child({ component: 'xds' }),
      apply: (bootstrap) => this.applyXds(bootstrap),
      onSecrets: (secrets) => this.applyAdsSecrets(secrets),
    });
    this.xds.setSecretNames(this.secretNames);
    this.log.info({ controlPlane: control.target, protocol: control.protocol, nodeId: node.id }, 'xds client starting');
    this.xds.start();
  }

  /**
   * --token-file: gets the first workload certificate before anything is served (retrying while the CA is away),
   * then keeps it renewed; each renewal re-applies the config so new handshakes use the new certificate.
   */
  private async startIdentity(identity: NonNullable<ProxyOptions['identity']>, target: string): Promise<void> {
    // Loaded only with --token-file: a proxy without an identity never loads gRPC or the X.509 library.
    const [{ WorkloadIdentity }, { ControlTrust, readTokenFile }] = await Promise.all([import('./workload-identity.js'), import('./identity-client.js')]);
    const { claims } = readTokenFile(identity.tokenFile);
    this.tokenServiceAccount = claims.sa;
    if (claims.ns !== this.options.namespace) {
      throw new ProxyStartError(`--token-file ${identity.tokenFile} is for namespace ${claims.ns}, but this proxy's --namespace is ${this.options.namespace}`);
    }
    this.identity = new WorkloadIdentity({
      target,
      // Shared with the xDS client: both learn a rotated root from the certificate answers.
      credentials: (this.controlTrust ??= new ControlTrust(identity.controlCa)),
      tokenFile: identity.tokenFile,
      ttlSeconds: identity.certTtlSeconds,
      log: this.log.child({ component: 'identity' }),
      onSecrets: () => {
        if (this.activeBootstrap !== undefined) void this.reapply('workload certificate rotated');
      },
    });
    this.log.info({ ca: target, tls: identity.controlCa !== null, tokenId: claims.id }, 'requesting the workload certificate');
    await this.identity.start();
  }

  /** The active config again with the current SDS secrets (a new version: workers build new TLS contexts). */
  private reapply(reason: string): Promise<void> {
    const run = this.reloadChain.then(async () => {
      if (this.stopping !== null) return;
      try {
        await this.apply(mergeBootstraps(this.fileBootstrap, this.xdsBootstrap), reason);
      } catch (err) {
        this.reject(reason, err);
      }
    });
    this.reloadChain = run.catch(() => undefined);
    return run;
  }

  /** Secrets accepted over ADS: the active config again with them (new handshakes use them; open connections go on). */
  private applyAdsSecrets(secrets: SdsSecrets): Promise<void> {
    this.adsSecrets = secrets;
    if (this.activeBootstrap === undefined) return Promise.resolve();
    return this.reapply('sds secrets (ads)');
  }

  /** The SDS secrets the data plane gets, and where each came from. */
  private currentSecrets(): ReturnType<typeof mergeSecrets> {
    return mergeSecrets(this.identity?.secrets() ?? {}, this.adsSecrets);
  }

  /** A complete config from the control plane, merged with the file's; serialized with file reloads. Rejects to NACK. */
  private applyXds(bootstrap: Bootstrap): Promise<void> {
    const run = this.reloadChain.then(async () => {
      if (this.stopping !== null) throw new Error('the proxy is shutting down');
      try {
        await this.apply(mergeBootstraps(this.fileBootstrap, bootstrap), 'xds');
      } catch (err) {
        this.reject('xds', err);
        throw err;
      }
      this.xdsBootstrap = bootstrap;
      this.xdsSynced = true;
    });
    this.reloadChain = run.catch(() => undefined);
    return run.then(() => this.onWorkersChanged());
  }

  /** A DNS cluster's addresses changed: the active config again, with the new endpoints (serialized with reloads). */
  private dnsChanged(cluster: string): void {
    if (this.stopping !== null || this.dnsReapplyQueued) return;
    this.dnsReapplyQueued = true;
    this.reloadChain = this.reloadChain.then(async () => {
      this.dnsReapplyQueued = false;
      if (this.stopping !== null || this.appliedInput === undefined) return;
      try {
        await this.apply(this.appliedInput, `dns (${cluster})`);
      } catch (err) {
        this.reject(`dns (${cluster})`, err);
      }
    });
  }

  /** Resolves DNS clusters and ports, writes a new version and announces it. */
  private async apply(input: Bootstrap, reason: string): Promise<void> {
    const prepared = await this.dns.prepare(input);
    const { secrets } = this.currentSecrets();
    const referenced = sdsSecretNames(prepared);
    if (this.options.control === undefined) {
      const missing = referenced.filter((name) => !Object.hasOwn(secrets, name));
      if (missing.length > 0) {
        throw new Error(`TLS contexts name SDS secrets ${missing.join(', ')}, which only the proxy's workload identity provides: start it with --token-file (and --control; the control plane also sends ROOTCA over ADS)`);
      }
    }
    // SDS over ADS: subscribe to what the config names; what has not arrived keeps its listener or cluster warming.
    this.secretNames = adsSecretNames(referenced, this.identity !== null);
    this.xds?.setSecretNames(this.secretNames);
    const { bootstrap, warming } = withoutWarming(prepared, secrets);
    if (warming.length > 0) {
      const what = warming.map((w) => `${w.kind} ${w.name} (${w.waitingFor.join(', ')})`).join('; ');
      this.log.warn({ warming, detail: what }, 'warming until the SDS secrets they name arrive');
    }
    this.warming = warming;
    const slots = this.slots.assign(this.reservations.resolve(bootstrap));
    const resolved = slots.bootstrap;
    // Check first, then route: new endpoints of health-checked clusters have had their first check before any worker sees them.
    await this.healthChecker.update(resolved, slots.freshEndpoints);
    const version = await this.store.writeConfig(resolved);
    slots.commit();
    this.dns.commit(input);
    this.appliedInput = input;
    this.outliers.update(resolved);
    const before = this.activeBootstrap === undefined ? undefined : configCounts(this.activeBootstrap);
    this.activeVersion = version;
    this.activeBootstrap = resolved;
    // A config with the policy filter: load gRPC now, not on the first request's Check.
    if (usesPolicyFilter(resolved)) this.policy.prepare();
    this.lastUpdated = new Date().toISOString();
    this.log.info({ version, reason, listeners: listenerSummary(resolved) }, appliedText(version, configCounts(resolved), before));
    const runtimeKeys = ignoredRuntimeKeys(resolved);
    if (runtimeKeys.length > 0) {
      this.log.warn({ runtimeKeys }, `runtime keys ignored (this proxy has no runtime layer; their default_value applies): ${runtimeKeys.join(', ')}`);
    }
    this.supervisor.announce(version, secrets);
  }

  /** One warning line for the layered_runtime keys this proxy does not use (and, on reload, that the limit waits for a restart). */
  private warnRuntime(bootstrap: Bootstrap, reloaded = false): void {
    const runtime = bootstrap.runtime;
    if (runtime === undefined) return;
    if (runtime.ignoredKeys.length > 0 || runtime.unreadLayers.length > 0) {
      const parts = [
        ...(runtime.ignoredKeys.length > 0 ? [`${runtime.ignoredKeys.length} key(s) not used by this proxy: ${runtime.ignoredKeys.join(', ')}`] : []),
        ...(runtime.unreadLayers.length > 0 ? [`layers not read (disk and RTDS layers are not supported): ${runtime.unreadLayers.join(', ')}`] : []),
      ];
      this.log.warn({ ignoredKeys: runtime.ignoredKeys, unreadLayers: runtime.unreadLayers }, `layered_runtime: ${parts.join('; ')}`);
    }
    if (reloaded && runtime.globalDownstreamMaxConnections !== null) {
      this.log.warn('layered_runtime: overload.global_downstream_max_connections is read at startup; the new value takes effect at the next restart');
    }
  }

  private reject(reason: string, err: unknown): void {
    const problems =
      err instanceof ConfigError ? err.problems.map(formatProblem) : [err instanceof Error ? err.message : String(err)];
    this.configRejectedTotal++;
    this.lastRejected = { at: new Date().toISOString(), reason, problems };
    this.log.error(
      { reason, activeVersion: this.activeVersion, configRejectedTotal: this.configRejectedTotal, [JSON_ONLY_FIELD]: { problems } },
      rejectedText(reason, this.activeVersion, problems),
    );
  }

  private onWorkersChanged(): void {
    if (this.readyLogged || this.admin === null || !this.supervisor.allApplied(this.activeVersion)) return;
    if (this.options.control !== undefined && !this.xdsSynced) return; // ready once the control plane's first config serves
    this.readyLogged = true;
    // Scripts and tests read the ports from this line: print it even when --log-level hides other info lines.
    const readyLog = this.log.level === 'silent' ? this.log : this.log.child({}, { level: 'info' });
    readyLog.info(
      {
        listeners: this.activeBootstrap ? listenerSummary(this.activeBootstrap) : [],
        admin: { address: this.adminAddress, port: this.admin.port },
        workers: this.supervisor.count,
        threadModel: this.supervisor.threadModel,
        transport: this.options.transport,
        version: this.activeVersion,
      },
      'proxy ready',
    );
    // Every data plane serves: what startup alone touched of the node binary goes (src/process/startup-pages.ts).
    stopStartupReleaser();
    releaseStartupPages(this.options.startupPages);
    if (this.options.startupPages === 'release') setImmediate(() => collectStartupGarbage());
  }

  // ---- AdminBackend ----

  isReady(): boolean {
    return this.notReadyReason() === null;
  }

  notReadyReason(): string | null {
    if (this.stopping !== null) return 'shutting down';
    if (this.supervisor.draining) return 'listeners drained (admin /drain_listeners)';
    const identity = this.identity?.notReadyReason() ?? null;
    if (identity !== null) return identity;
    if (this.options.control !== undefined && !this.xdsSynced) {
      return `waiting for the first complete config from the control plane at ${this.options.control.target}`;
    }
    if (!this.supervisor.allApplied(this.activeVersion)) {
      const workers = this.supervisor.status();
      const applied = workers.filter((w) => w.appliedVersion === this.activeVersion && w.state === 'running').length;
      return `${applied} of ${workers.length} workers serve config v${this.activeVersion}`;
    }
    return null;
  }

  async statsEntries(): Promise<StatEntry[]> {
    return [...statsFromPrometheus(await this.statsPrometheus()), ...serverStats(this.startedAt, this.isReady(), this.options.workers)];
  }

  envoyConfigDump(query: URLSearchParams): Reply {
    const sources = { fileText: this.fileText, fileAppliedAt: this.fileAppliedAt || this.lastUpdated, xds: this.xds, control: this.options.control };
    return envoyConfigDumpReply(sources, query);
  }

  certs(): unknown {
    const active = this.activeBootstrap;
    return certsView(active === undefined ? undefined : resolveSdsSecrets(active, this.currentSecrets().secrets).bootstrap);
  }

  secrets(): unknown {
    return secretsView(this.identity, { sources: this.currentSecrets().sources, ads: this.xds?.adsSecrets(), wanted: this.secretNames, warming: this.warming });
  }

  listeners(): ListenerAddress[] {
    return this.activeBootstrap ? listenerSummary(this.activeBootstrap) : [];
  }

  serverInfo(): unknown {
    const state = this.stopping !== null || this.supervisor.draining ? 'DRAINING' : this.isReady() ? 'LIVE' : 'INITIALIZING';
    return serverInfo({ options: this.options, startedAt: this.startedAt, state, logLevel: this.logLevel(), xds: this.xds, threadModel: this.threadModel });
  }

  logLevel(): string {
    return this.log.level;
  }

  setLogLevel(level: string): void {
    setLogLevel(level);
    this.supervisor.setLogLevel(level);
    this.log.info({ level }, `log level set to ${level}`);
  }

  async statsPrometheus(): Promise<string> {
    const replies = await this.supervisor.query('stats', WORKER_QUERY_TIMEOUT_MS);
    const text = renderPrometheusText({
      merged: mergeWorkerStats(replies.map((r) => r.snapshot)),
      identity: { serviceName: this.options.service ?? 'unknown', namespace: this.options.namespace },
      agent: {
        configRejectedTotal: this.configRejectedTotal,
        configVersion: this.activeVersion,
        workerRestartsTotal: this.supervisor.restartsTotal,
        accessLogDroppedTotal: Atomics.load(this.sharedState.ints, HEADER.ACCESS_LOG_DROPPED),
      },
      durationBucketsMs: ISTIO_DURATION_BUCKETS_MS,
      resilience: resilienceStats(this.activeBootstrap, this.sharedState, this.healthChecker.stats()),
    });
    return text + localRateLimitPrometheus(this.activeBootstrap, this.rateLimits) + compressorPrometheus(this.activeBootstrap, this.rateLimits)
      + (usesPolicyFilter(this.activeBootstrap) ? renderMixerCounters(this.mixerCounters) : '')
      + (usesTracing(this.activeBootstrap) ? renderTracingCounters(this.tracingCounters) : '');
  }

  async configDump(): Promise<unknown> {
    return {
      version: this.activeVersion,
      bootstrapFile: this.options.bootstrap ?? null,
      bootstrap: this.activeBootstrap === undefined ? null : redactPrivateKeys(this.activeBootstrap),
      threadModel: this.threadModel,
      workers: this.supervisor.status(),
      listenersDrained: this.supervisor.draining,
      configRejectedTotal: this.configRejectedTotal,
      lastRejected: this.lastRejected,
      xds: this.xds?.status() ?? null,
    };
  }

  private async mergedClusters(): Promise<MergedCluster[]> {
    const replies = await this.supervisor.query('clusters', WORKER_QUERY_TIMEOUT_MS);
    return mergeClusterStatus(this.activeBootstrap, replies.map((r) => r.clusters), endpointFlagsLookup(this.activeBootstrap, this.sharedState));
  }

  async clustersText(): Promise<string> {
    return renderClustersText(await this.mergedClusters());
  }

  async clustersJson(): Promise<unknown> {
    return clustersJson(await this.mergedClusters());
  }

  drainListeners(): void {
    this.log.info('draining listeners (admin request)');
    this.supervisor.drainListeners();
  }

  quit(): void {
    this.log.info('shutdown requested (admin /quitquitquit)');
    this.onQuit();
  }

  get threadModel(): ThreadModel {
    return this.supervisor.threadModel;
  }

  crashWorker(id: number): boolean {
    return this.supervisor.crash(id);
  }

  get workerRestartsTotal(): number {
    return this.supervisor.restartsTotal;
  }

  /** Drains every worker (within the drain timeout), then closes the admin API, LMDB and the reserved ports. Idempotent. */
  shutdown(reason: string): Promise<void> {
    this.stopping ??= this.stop(reason);
    return this.stopping;
  }

  private async stop(reason: string): Promise<void> {
    this.log.info({ reason, drainTimeoutMs: this.options.drainTimeoutMs }, 'shutting down: draining workers');
    this.watcher?.close();
    this.tlsFiles?.close();
    this.xds?.close();
    this.identity?.close();
    await this.reloadChain.catch(() => undefined);
    this.healthChecker.stop();
    this.outliers.stop();
    this.dns.stop();
    await this.supervisor.shutdown(this.options.drainTimeoutMs);
    this.policy.close();
    this.admin?.close();
    await this.store.close();
    this.reservations.closeAll();
    this.dataDirLock.release();
    this.log.info({ reason }, 'proxy stopped');
  }
}

/** Whether any listener runs isthmus.filters.http.mixer (its stats show only then, as Envoy's per-filter stats do). */
function usesPolicyFilter(bootstrap: Bootstrap | undefined): boolean {
  return bootstrap?.listeners.some((l) => l.filterChains.some((c) => c.hcm?.httpFilters?.mixer !== undefined)) ?? false;
}

function listenerSummary(bootstrap: Bootstrap): { name: string; address: string; port: number }[] {
  return bootstrap.listeners.map((l) => ({ name: l.name, address: l.address.address, port: l.address.port }));
}

/** Some HTTP filter chain of the config has tracing (its counters are shown then). */
function usesTracing(bootstrap: Bootstrap | undefined): boolean {
  return bootstrap !== undefined && bootstrap.listeners.some((l) => l.filterChains.some((c) => c.hcm.tracing != null));
}
