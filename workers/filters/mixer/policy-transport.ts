// How a worker's policy filter reaches the policy server: never directly
// (workers do not load @grpc/*), but through the agent on the main thread,
// which holds the gRPC channel and makes identical concurrent Checks one RPC.
// In a worker thread the transport posts messages over parentPort
// (worker-main.ts); with --workers 1 the data plane is on the agent's thread
// and the transport is a direct call (agent/in-thread-data-plane.ts). Set
// once per thread with setPolicyTransport.
import type { WireAttributeValue } from '../../../src/config/mixer-filter-config.js';

/** isthmus.mixer.v1.Attributes in proto-loader's input shape. */
export interface WireAttributes {
  readonly attributes: Record<string, WireAttributeValue>;
}

export type RefCondition = 'ABSENCE' | 'EXACT' | 'REGEX';

export interface RefMatch {
  readonly name: string;
  readonly condition: RefCondition;
  /** '' for the whole attribute. */
  readonly mapKey: string;
}

export interface CheckCall {
  /** '' = the control plane the proxy gets xDS from; else a cluster whose first endpoint serves Mixer (the agent resolves it). */
  readonly target: string;
  /** Identical concurrent calls with one key make one RPC; '' = never joined (quota calls). */
  readonly key: string;
  readonly attributes: WireAttributes;
  /** bestEffort: grant what is left when less than asked (the agent's prefetch asks so). */
  readonly quotas: readonly { readonly name: string; readonly amount: number; readonly bestEffort?: boolean }[];
  readonly deduplicationId: string;
  /** The worker's check cache answered the precondition (OK): quota may come from the agent's allocations alone. */
  readonly quotaOnly?: boolean;
  readonly timeoutMs: number;
  readonly maxRetry: number;
  readonly baseRetryWaitMs: number;
  readonly maxRetryWaitMs: number;
  /** Set for the ext_authz filter: an envoy.service.auth.v3 CheckRequest sent to Authorization/Check instead of Mixer. */
  readonly extAuthz?: object;
}

/** An ext_authz CheckResponse as the filter acts on it (bounded by the agent). */
export interface AuthzAnswer {
  /** HTTP status of denied_response (0: not set). */
  readonly status: number;
  readonly body: string;
  /** Denied: the response headers; OK: the headers added upstream. Flat [name, value, ...]. */
  readonly headers: readonly string[];
}

export interface QuotaGrant {
  readonly name: string;
  readonly granted: number;
  readonly code: number;
  readonly message: string;
  /** How long the grant holds (0: not said). */
  readonly validMs: number;
  /** The attributes the quota's rules and dimensions read: the allocation's key. */
  readonly refs: readonly RefMatch[];
}

export type CheckOutcome =
  | {
    readonly ok: true;
    /** google.rpc.Code of the precondition (0 = OK). */
    readonly code: number;
    readonly message: string;
    readonly validMs: number;
    /** 0: no use-count limit. */
    readonly validUses: number;
    readonly refs: readonly RefMatch[];
    readonly quotas: readonly QuotaGrant[];
    /** How many callers this one RPC answered (they share valid_use_count). */
    readonly sharedBy: number;
    /** This caller is the one that stores the answer in the shared cache. */
    readonly first: boolean;
    /** An ext_authz Check's answer (with code: its status). */
    readonly authz?: AuthzAnswer;
  }
  | { readonly ok: false; readonly error: string };

export interface PolicyTransport {
  /** Sends a Check; `done` runs once, on this thread, with the outcome. */
  check(call: CheckCall, done: (outcome: CheckOutcome) => void): void;
  /**
   * Hands a batch of finished requests' attributes to the agent (fire and forget: it may drop it): the
   * ReportRequest's bytes behind a 5-byte gRPC prefix (report-batcher.ts), with how many entries it holds. The
   * caller gives the Buffer up (a worker transfers its ArrayBuffer).
   */
  report(target: string, batch: Uint8Array, entries: number): void;
}

/** Until a thread sets its transport: every Check fails (the fail policy applies), Reports are dropped. */
const NO_TRANSPORT: PolicyTransport = {
  check(_call, done) {
    queueMicrotask(() => done({ ok: false, error: 'no policy transport in this thread' }));
  },
  report() {},
};

let transport: PolicyTransport = NO_TRANSPORT;

export function setPolicyTransport(t: PolicyTransport): void {
  transport = t;
}

export function policyTransport(): PolicyTransport {
  return transport;
}

// ---- the worker-thread transport: messages over parentPort ----

export interface PolicyCheckMessage {
  readonly type: 'policy-check';
  readonly id: number;
  readonly call: CheckCall;
}
export interface PolicyReportMessage {
  readonly type: 'policy-report';
  readonly target: string;
  /** The gRPC-framed ReportRequest (its ArrayBuffer transferred). */
  readonly batch: Uint8Array;
  readonly entries: number;
}
export interface PolicyCheckReply {
  readonly type: 'policy-check-result';
  readonly id: number;
  readonly outcome: CheckOutcome;
}

/** The worker thread's transport: posts to the agent and matches replies by id. */
export class MessagePolicyTransport implements PolicyTransport {
  private nextId = 1;
  private readonly waiting = new Map<number, (outcome: CheckOutcome) => void>();

  constructor(private readonly post: (msg: PolicyCheckMessage | PolicyReportMessage, transfer?: ArrayBuffer[]) => void) {}

  check(call: CheckCall, done: (outcome: CheckOutcome) => void): void {
    const id = this.nextId++;
    this.waiting.set(id, done);
    this.post({ type: 'policy-check', id, call });
  }

  report(target: string, batch: Uint8Array, entries: number): void {
    // The batch owns its ArrayBuffer (report-batcher.ts): moved, not copied.
    this.post({ type: 'policy-report', target, batch, entries }, [batch.buffer as ArrayBuffer]);
  }

  /** The agent answered a Check. */
  onReply(msg: PolicyCheckReply): void {
    const done = this.waiting.get(msg.id);
    if (done === undefined) return;
    this.waiting.delete(msg.id);
    done(msg.outcome);
  }
}
