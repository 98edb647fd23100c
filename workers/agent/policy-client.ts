// The agent's side of the policy filter: the one place that speaks gRPC to
// the policy server (isthmus.mixer.v1.Mixer) for every worker. A Check that
// an identical one (same server, same check attributes) is already waiting on
// joins it: concurrent misses across workers make one RPC, and its answer
// tells each caller how many shared it (they share valid_use_count). A Check
// with quota is never joined. Failed attempts are retried with exponential
// backoff (network_fail_policy max_retry, base/max_retry_wait); then the
// caller's fail policy decides. Report batches are queued and bounded per
// server (report-queue.ts): traffic never waits for Report. The ext_authz filter's Checks
// (CheckCall.extAuthz) go to envoy.service.auth.v3.Authorization/Check on the
// same targets, once each (no joining, no retry: failure_mode_allow decides).
// Mixer Checks go on node:http2 directly (policy-unary-client.ts: about 0.7
// of grpc-js's client CPU per Check), and so do Reports: a worker hands over
// a batch already encoded and framed (report-batcher.ts), sent as it is, on
// the connection Checks use; ext_authz keeps grpc-js (rare).
import { readFileSync } from 'node:fs';
import type { ChannelCredentials, Client, ServiceError } from '@grpc/grpc-js';
import type { Logger } from '../../src/log.js';
import { controlChannelOptions } from '../../src/xds/control-server-name.js';
import { MIXER_COUNTER, recordRpcLatency } from '../filters/mixer/mixer-counters.js';
import { QuotaAllocations } from '../filters/mixer/quota-allocations.js';
import { PolicyUnaryClient, type UnaryError } from './policy-unary-client.js';
import type { AuthzAnswer, CheckCall, CheckOutcome, PolicyTransport, QuotaGrant, RefMatch } from '../filters/mixer/policy-transport.js';
import { ReportQueues } from './report-queue.js';

const MAX_IN_FLIGHT_CHECKS = 10_000;
const MAX_REFS = 256;
const MAX_MESSAGE = 1024;
const REPORT_TIMEOUT_MS = 5000;
const WARN_EVERY_MS = 10_000;
/** After the policy port refused a connection: Checks use the xDS address this long before trying it again. */
export const POLICY_PORT_RETRY_MS = 10_000;

export interface PolicyClientOptions {
  /**
   * The control plane the proxy gets xDS from (check_cluster empty); null without --control. policyPort (--policy-port):
   * its policy port on the same host, where Checks go (plaintext) while it answers; null: Checks use the xDS address.
   */
  readonly control: { readonly target: string; readonly caPath: string | null; readonly policyPort?: number | null } | null;
  /** `host:port` of a cluster's first endpoint in the active config; null when it has none. */
  readonly clusterEndpoint: (name: string) => string | null;
  readonly counters: Int32Array;
  readonly log: Logger;
}

type MixerClient = Client & {
  Check(req: unknown, options: { deadline: number }, cb: (err: ServiceError | null, res?: CheckResponse) => void): unknown;
};

interface CheckResponseRefs {
  attribute_matches?: { name?: string; condition?: string; map_key?: string }[];
}

interface CheckResponse {
  precondition?: {
    status?: { code?: number; message?: string } | null;
    valid_duration?: { seconds?: number; nanos?: number } | null;
    valid_use_count?: number;
    referenced_attributes?: CheckResponseRefs | null;
  } | null;
  quotas?: Record<string, { granted_amount?: number; status?: { code?: number; message?: string } | null; valid_duration?: { seconds?: number; nanos?: number } | null; referenced_attributes?: CheckResponseRefs | null }>;
}

/** The Check method's path and codec (proto-loader's, as grpc-js would use them). */
interface CheckCodec {
  readonly path: string;
  readonly serialize: (request: unknown) => Buffer;
  readonly deserialize: (bytes: Buffer) => CheckResponse;
}

type AuthorizationClient = Client & {
  Check(req: unknown, options: { deadline: number }, cb: (err: ServiceError | null, res?: AuthzCheckResponse) => void): unknown;
};

interface HeaderOption { header?: { key?: string; value?: string } | null }
interface AuthzCheckResponse {
  status?: { code?: number; message?: string } | null;
  denied_response?: { status?: { code?: string | number } | null; headers?: HeaderOption[]; body?: string } | null;
  ok_response?: { headers?: HeaderOption[] } | null;
}

const MAX_AUTHZ_HEADERS = 64;
const MAX_AUTHZ_BODY = 64 * 1024;
const HTTP_STATUS_NAMES: Readonly<Record<string, number>> = { OK: 200, BadRequest: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, TooManyRequests: 429, InternalServerError: 500, ServiceUnavailable: 503 };

interface Group {
  readonly waiters: ((outcome: CheckOutcome) => void)[];
}

/** One policy server address: its grpc-js client (Report, ext_authz's address) and, made on the first Check, the lean Check connection beside it (same address and credentials; closed with it). */
interface MixerConnection {
  readonly rpc: MixerClient;
  readonly address: string;
  readonly ca: Buffer | null;
  check: PolicyUnaryClient | null;
}

export class PolicyClient implements PolicyTransport {
  private grpc: typeof import('@grpc/grpc-js') | null = null;
  private ctor: (new (target: string, creds: ChannelCredentials, options?: object) => MixerClient) | null = null;
  private loading: Promise<void> | null = null;
  private readonly clients = new Map<string, MixerConnection>();
  private checkCodec: CheckCodec | null = null;
  private reportPath = '';
  private authzCtor: (new (target: string, creds: ChannelCredentials, options?: object) => AuthorizationClient) | null = null;
  private readonly authzClients = new Map<string, AuthorizationClient>();
  private readonly inFlight = new Map<string, Group>();
  /** Report batches per server, bounded (report-queue.ts); sent by sendReport. */
  private readonly reports: ReportQueues;
  private closed = false;
  private lastWarning = 0;
  /** Check RPCs (with their retries) not finished yet, quota calls included: bounded by MAX_IN_FLIGHT_CHECKS. */
  private outstanding = 0;
  /** The control plane's policy port (`host:port`), made on the first Check there; null without --policy-port. */
  private readonly policyAddress: string | null;
  private policyPort: PolicyUnaryClient | null = null;
  /** performance.now() before which Checks skip the policy port (it refused a connection). */
  private policyPortDownUntil = 0;

  constructor(private readonly options: PolicyClientOptions) {
    this.reports = new ReportQueues(options.counters, (target, batch, done) => this.sendReport(target, batch, done));
    const control = options.control;
    this.policyAddress = control === null || control.policyPort == null ? null : `${control.target.slice(0, control.target.lastIndexOf(':'))}:${control.policyPort}`;
  }

  /** The client a Check on `client` goes through: the policy port for the control plane while it answers, else client's address. */
  private checkTransport(client: MixerConnection, target: string): PolicyUnaryClient {
    if (target === '' && this.policyAddress !== null && performance.now() >= this.policyPortDownUntil) {
      return (this.policyPort ??= new PolicyUnaryClient(this.policyAddress, null));
    }
    return this.checkClientOf(client);
  }

  /** Quota calls: served from prefetched allocations, asking ahead (quota-allocations.ts). */
  private readonly quota = new QuotaAllocations((call, done) => this.rpc(call, done));

  check(call: CheckCall, done: (outcome: CheckOutcome) => void): void {
    if (call.quotas.length > 0) this.quota.check(call, done);
    else this.rpc(call, done);
  }

  /** One Check RPC (joined with an identical one in flight unless the call has no key). */
  private rpc(call: CheckCall, done: (outcome: CheckOutcome) => void): void {
    if (this.outstanding >= MAX_IN_FLIGHT_CHECKS) {
      done({ ok: false, error: 'too many Checks in flight' });
      return;
    }
    if (call.extAuthz !== undefined) {
      this.authzCheck(call, done);
      return;
    }
    const groupKey = call.key === '' ? '' : `${call.target}\u0000${call.key}`;
    if (groupKey !== '') {
      const joined = this.inFlight.get(groupKey);
      if (joined !== undefined) {
        Atomics.add(this.options.counters, MIXER_COUNTER.RPC_CHECKS_JOINED, 1);
        joined.waiters.push(done);
        return;
      }
    }
    const group: Group = { waiters: [done] };
    if (groupKey !== '') this.inFlight.set(groupKey, group);
    this.outstanding++;
    const finish = (outcome: CheckOutcome): void => {
      this.outstanding--;
      if (groupKey !== '') this.inFlight.delete(groupKey);
      const n = group.waiters.length;
      group.waiters.forEach((w, i) => w(outcome.ok ? { ...outcome, sharedBy: n, first: i === 0 } : outcome));
    };
    this.withClient(call.target, (client, error) => {
      if (client === null) {
        this.warn(call.target, error);
        finish({ ok: false, error });
      }
      else this.attempt(client, call, 0, finish);
    });
  }

  /** Loads gRPC and the Mixer proto ahead of the first Check (a config with the policy filter was applied). */
  prepare(): void {
    if (this.ctor !== null) return;
    this.loading ??= this.load();
    this.loading.catch(() => undefined);
  }

  report(target: string, batch: Uint8Array, entries: number): void {
    this.reports.add(target, batch, entries);
  }

  /** At most one line per WARN_EVERY_MS: a server that is away would otherwise log per request. */
  private warn(target: string, error: string): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.options.log.warn({ checkCluster: target === '' ? '(control plane)' : target, error }, 'policy Check failed; the fail policy applies');
  }

  close(): void {
    this.closed = true;
    this.policyPort?.close();
    this.policyPort = null;
    for (const c of this.clients.values()) this.closeClient(c);
    this.clients.clear();
    for (const c of this.authzClients.values()) c.close();
    this.authzClients.clear();
  }

  /** One ext_authz Authorization/Check on the call's target (the client shares withClient's address choice). */
  private authzCheck(call: CheckCall, done: (outcome: CheckOutcome) => void): void {
    this.outstanding++;
    const finish = (outcome: CheckOutcome): void => {
      this.outstanding--;
      done(outcome);
    };
    this.withClient(call.target, (mixer, error) => {
      if (mixer === null || this.authzCtor === null) {
        this.warn(call.target, error);
        finish({ ok: false, error });
        return;
      }
      const address = mixer.rpc.getChannel().getTarget();
      let client = this.authzClients.get(call.target);
      if (client === undefined || client.getChannel().getTarget() !== address) {
        client?.close();
        const secure = call.target === '' ? this.options.control?.caPath ?? null : null;
        const grpc = this.grpc!;
        const creds = secure === null ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(readFileSync(secure));
        client = new this.authzCtor(addressOf(address), creds, secure === null ? {} : controlChannelOptions(addressOf(address)));
        this.authzClients.set(call.target, client);
      }
      client.Check(call.extAuthz, { deadline: Date.now() + call.timeoutMs }, (err, res) => {
        if (err !== null || res === undefined) {
          const e = err?.details || err?.message || 'no answer';
          this.warn(call.target, e);
          finish({ ok: false, error: e });
          return;
        }
        finish(authzOutcome(res));
      });
    });
  }

  /** One Report on the Check connection (the policy port while it answers); the answer (empty) is not read. */
  private sendReport(target: string, batch: Buffer, done: (sent: boolean) => void): void {
    this.withClient(target, (client) => {
      if (client === null || this.closed) done(false);
      else this.sendReportOn(client, target, batch, done);
    });
  }

  private sendReportOn(client: MixerConnection, target: string, batch: Buffer, done: (sent: boolean) => void): void {
    const transport = this.checkTransport(client, target);
    const viaPolicyPort = transport === this.policyPort;
    transport.callFramed(this.reportPath, batch, REPORT_TIMEOUT_MS, (err) => {
      if (err !== null && err.noAnswer === true && viaPolicyPort && !this.closed) {
        // As for Checks: the policy port is not there; this batch and the next go to the xDS address.
        this.policyPortDown(transport, err.details);
        this.sendReportOn(client, target, batch, done);
        return;
      }
      done(err === null);
    });
  }

  private attempt(client: MixerConnection, call: CheckCall, n: number, finish: (outcome: CheckOutcome) => void): void {
    const counters = this.options.counters;
    Atomics.add(counters, n === 0 ? MIXER_COUNTER.RPC_CHECKS : MIXER_COUNTER.RPC_RETRIES, 1);
    const request = {
      attributes: call.attributes,
      deduplication_id: call.deduplicationId,
      quotas: Object.fromEntries(call.quotas.map((q) => [q.name, { amount: q.amount, best_effort: q.bestEffort === true }])),
    };
    const codec = this.checkCodec!;
    let bytes: Buffer;
    try {
      bytes = codec.serialize(request);
    } catch (err) {
      Atomics.add(counters, MIXER_COUNTER.RPC_CHECK_ERRORS, 1);
      finish({ ok: false, error: `cannot encode the CheckRequest: ${(err as Error).message}` });
      return;
    }
    const started = performance.now();
    const transport = this.checkTransport(client, call.target);
    // Read now: the first of several Checks on a policy port that went away replaces it (policyPortDown), and the
    // others, failing with it, must fall back as well.
    const viaPolicyPort = transport === this.policyPort;
    transport.call(codec.path, bytes, call.timeoutMs, (err, answer) => {
      recordRpcLatency(counters, performance.now() - started);
      if (err !== null && err.noAnswer === true && viaPolicyPort && !this.closed) {
        // The policy port is not there (an older control plane, or one without --policy-port): this Check and the
        // next ones for a while go to the xDS address, which serves the same service.
        this.policyPortDown(transport, err.details);
        Atomics.add(counters, MIXER_COUNTER.RPC_CHECKS, -1);
        this.attempt(client, call, n, finish);
        return;
      }
      let res: CheckResponse | undefined;
      let error: UnaryError | null = err;
      if (error === null) {
        try {
          res = codec.deserialize(answer!);
        } catch {
          error = { code: 13, details: 'the CheckResponse does not decode' };
        }
      }
      if (error === null && res !== undefined) {
        finish(outcomeOf(res));
        return;
      }
      if (n < call.maxRetry && !this.closed) {
        const wait = Math.min(call.baseRetryWaitMs * 2 ** n, call.maxRetryWaitMs) * (0.5 + Math.random() / 2);
        setTimeout(() => this.attempt(client, call, n + 1, finish), wait).unref();
        return;
      }
      Atomics.add(counters, MIXER_COUNTER.RPC_CHECK_ERRORS, 1);
      const text = error?.details || 'no answer';
      this.warn(call.target, text);
      finish({ ok: false, error: text });
    });
  }

  /** takes the policy port's client a Check found not answering; Checks skip the port for POLICY_PORT_RETRY_MS (once per client). */
  private policyPortDown(transport: PolicyUnaryClient, error: string): void {
    if (transport !== this.policyPort) return; // a Check on the same connection said so already
    this.policyPortDownUntil = performance.now() + POLICY_PORT_RETRY_MS;
    this.options.log.warn({ policyPort: this.policyAddress, error }, `the control plane's policy port does not answer; Checks use its xDS address for ${POLICY_PORT_RETRY_MS / 1000} s`);
    transport.close();
    this.policyPort = null;
  }

  /** The Check connection beside a grpc-js client: the same address and credentials. */
  private checkClientOf(client: MixerConnection): PolicyUnaryClient {
    return (client.check ??= new PolicyUnaryClient(client.address, client.ca));
  }

  private closeClient(client: MixerConnection): void {
    client.rpc.close();
    client.check?.close();
    client.check = null;
  }

  /** The client for a target ('' = the control plane; else a cluster name), loading gRPC on first use. */
  private withClient(target: string, use: (client: MixerConnection | null, error: string) => void): void {
    if (this.ctor === null) {
      this.loading ??= this.load();
      this.loading.then(() => this.withClient(target, use), (err: unknown) => use(null, `cannot load gRPC: ${String(err)}`));
      return;
    }
    let address: string | null;
    let secure: string | null = null;
    if (target === '') {
      address = this.options.control?.target ?? null;
      secure = this.options.control?.caPath ?? null;
      if (address === null) {
        use(null, 'no control plane (check_cluster is empty and the proxy runs without --control)');
        return;
      }
    } else {
      address = this.options.clusterEndpoint(target);
      if (address === null) {
        use(null, `check cluster ${target} has no endpoint`);
        return;
      }
    }
    const id = `${target}\u0000${address}`;
    let client = this.clients.get(id);
    if (client === undefined) {
      const grpc = this.grpc!;
      const ca = secure === null ? null : readFileSync(secure);
      const creds = ca === null ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(ca);
      client = { rpc: new this.ctor(address, creds, ca === null ? {} : controlChannelOptions(address)), address, ca, check: null };
      this.clients.set(id, client);
      // An endpoint that changed leaves its old client: close those for the same target.
      for (const [other, c] of this.clients) if (other !== id && other.startsWith(`${target}\u0000`)) { this.closeClient(c); this.clients.delete(other); }
    }
    use(client, '');
  }

  private async load(): Promise<void> {
    const [grpc, { mixerServiceDefinition }] = await Promise.all([import('@grpc/grpc-js'), import('../../src/xds/mixer-protos.js')]);
    this.grpc = grpc;
    const definition = mixerServiceDefinition();
    this.ctor = grpc.makeGenericClientConstructor(definition, 'Mixer') as unknown as new (target: string, creds: ChannelCredentials, options?: object) => MixerClient;
    const check = definition.Check!;
    this.reportPath = definition.Report!.path;
    this.checkCodec = { path: check.path, serialize: check.requestSerialize as (r: unknown) => Buffer, deserialize: check.responseDeserialize as (b: Buffer) => CheckResponse };
    const { authorizationServiceDefinition } = await import('../../src/xds/ext-authz-protos.js');
    this.authzCtor = grpc.makeGenericClientConstructor(authorizationServiceDefinition(), 'Authorization') as unknown as new (target: string, creds: ChannelCredentials, options?: object) => AuthorizationClient;
  }
}

function refsOf(r: CheckResponseRefs | null | undefined): RefMatch[] {
  const refs: RefMatch[] = [];
  for (const m of (r?.attribute_matches ?? []).slice(0, MAX_REFS)) {
    const name = typeof m.name === 'string' ? m.name : '';
    if (name === '') continue;
    refs.push({ name, condition: m.condition === 'ABSENCE' ? 'ABSENCE' : m.condition === 'REGEX' ? 'REGEX' : 'EXACT', mapKey: typeof m.map_key === 'string' ? m.map_key : '' });
  }
  return refs;
}

function msOf(d: { seconds?: number; nanos?: number } | null | undefined): number {
  const ms = d == null ? 0 : Math.max(0, Number(d.seconds ?? 0) * 1000 + Number(d.nanos ?? 0) / 1e6);
  return Number.isFinite(ms) ? ms : 0;
}

function outcomeOf(res: CheckResponse): CheckOutcome {
  const p = res.precondition ?? {};
  const matches = p.referenced_attributes?.attribute_matches ?? [];
  const refs = refsOf(p.referenced_attributes);
  // More references than the cache keeps: the answer serves this request only.
  const validMs = matches.length > MAX_REFS ? 0 : msOf(p.valid_duration);
  const quotas: QuotaGrant[] = Object.entries(res.quotas ?? {}).slice(0, 64).map(([name, q]) => ({
    name, granted: Math.max(0, Number(q.granted_amount ?? 0)) || 0, code: Number(q.status?.code ?? 0), message: String(q.status?.message ?? '').slice(0, MAX_MESSAGE),
    validMs: msOf(q.valid_duration), refs: refsOf(q.referenced_attributes),
  }));
  return {
    ok: true,
    code: Number(p.status?.code ?? 0),
    message: String(p.status?.message ?? '').slice(0, MAX_MESSAGE),
    validMs: Number.isFinite(validMs) ? validMs : 0,
    validUses: Math.max(0, Number(p.valid_use_count ?? 0)),
    refs,
    quotas,
    sharedBy: 1,
    first: true,
  };
}

/** A channel's target as grpc-js reports it (`dns:host:port`) back to the address it was made with. */
function addressOf(target: string): string {
  return target.startsWith('dns:') ? target.slice(4).replace(/^\/\/\//, '') : target;
}

function headerList(options: HeaderOption[] | undefined, into: string[]): void {
  for (const o of (options ?? []).slice(0, MAX_AUTHZ_HEADERS)) {
    const k = o.header?.key;
    const v = o.header?.value;
    // Only names and values an HTTP/1.1 head can carry.
    if (typeof k === 'string' && typeof v === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/.test(k) && !/[\r\n\0]/.test(v) && v.length <= 8192) into.push(k.toLowerCase(), v);
  }
}

/** An Authorization CheckResponse, bounded: its status code and what the filter adds or answers. */
function authzOutcome(res: AuthzCheckResponse): CheckOutcome {
  const code = Number(res.status?.code ?? 0) | 0;
  const headers: string[] = [];
  let status = 0;
  let body = '';
  if (code === 0) headerList(res.ok_response?.headers, headers);
  else {
    const d = res.denied_response;
    const s = d?.status?.code;
    status = typeof s === 'number' ? s : typeof s === 'string' ? HTTP_STATUS_NAMES[s] ?? (Number(s) || 0) : 0;
    if (status < 200 || status > 599) status = 0;
    body = typeof d?.body === 'string' ? d.body.slice(0, MAX_AUTHZ_BODY) : '';
    headerList(d?.headers, headers);
  }
  const authz: AuthzAnswer = { status, body, headers };
  return { ok: true, code, message: String(res.status?.message ?? '').slice(0, MAX_MESSAGE), validMs: 0, validUses: 0, refs: [], quotas: [], sharedBy: 1, first: true, authz };
}
