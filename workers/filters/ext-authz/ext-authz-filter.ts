// envoy.filters.http.ext_authz as a filter of the chain: on the head the
// request's envoy.service.auth.v3 CheckRequest (AttributeContext: source and
// destination address, the mTLS peer's principal, request.http method, path,
// host, scheme, headers, protocol, size, as Envoy fills them) goes to the
// Authorization server through the agent (workers never load gRPC: the
// policy filter's transport). OK: the request goes on with ok_response's
// headers set upstream (ext_authz.ok). Denied: denied_response's status
// (403 when unset), headers and body, flag UAEX (ext_authz.denied). No
// answer within grpc_service.timeout: failure_mode_allow passes
// (ext_authz.error + ext_authz.failure_mode_allowed), else status_on_error
// (403) with flag UAEX (ext_authz.error). With filter_enabled_metadata (the
// CUSTOM translation) the filter runs only when the gating RBAC shadow rules
// matched a policy whose name the matcher accepts. The listener's destination
// facts (the policy filter's mixer_attributes, which the control plane writes
// beside a CUSTOM policy) go as context_extensions (destination.* strings,
// Envoy's per-route check_settings field) and destination.labels, so the
// control plane's rules see the destination service as a Mixer Check does.
import { EXT_AUTHZ_FILTER_NAME } from '../../../src/config/http-filter-names.js';
import type { ExtAuthzConfig } from '../../../src/config/ext-authz-config.js';
import type { StaticAttribute } from '../../../src/config/mixer-filter-config.js';
import type { StringMap } from '../../../src/policy/attribute-value.js';
import { headerValueForMatch } from '../../../src/routing/request-view.js';
import type { ListenerFilterStats } from '../../http-filter-stats.js';
import { ResponseFlag } from '../../response-flags.js';
import { isGrpcContentType, localAnswer } from '../filter-answer.js';
import { FilterStatus, type HttpFilterCallbacks, type HttpFilterFactory } from '../http-filter.js';
import { policyTransport, type CheckCall, type CheckOutcome } from '../mixer/policy-transport.js';
import type { CompiledRbacRules, RbacConnectionView, RbacRequest } from '../rbac/rbac-compile.js';
import { RbacRequestFilter } from '../rbac/rbac-filter.js';

/** Beyond the agent's own deadline, a reply that never comes still ends the wait. */
const SAFETY_MARGIN_MS = 1000;

/** What the filter reads of the request and its connection (ActiveRequest has all of it). */
interface ExtAuthzCallbacks extends HttpFilterCallbacks {
  readonly query: string;
  readonly headers: readonly string[];
  readonly scheme: string;
  readonly requestId: string;
  readonly conn: RbacConnectionView & { readonly remotePort: number; readonly peerUriSan: string; readonly localAddress?: string; readonly localPort?: number };
}

export class ExtAuthzFilterFactory implements HttpFilterFactory {
  readonly name = EXT_AUTHZ_FILTER_NAME;
  /** '' = the control plane (CONTROL_PLANE_CLUSTER); else the cluster whose first endpoint serves Authorization. */
  readonly target: string;
  /** destination.* string statics as context_extensions; shared by every request (never written). */
  readonly contextExtensions: Readonly<Record<string, string>>;
  readonly destinationLabels: StringMap | undefined;

  constructor(
    readonly config: ExtAuthzConfig,
    target: string,
    /** The gating shadow rules (filter_enabled_metadata); null: every request is checked. */
    readonly gate: CompiledRbacRules | null,
    readonly destination: { readonly address: string; readonly port: number },
    readonly stats: ListenerFilterStats,
    /** The listener's policy-filter statics (mixer_attributes); empty without a policy filter. */
    statics: readonly StaticAttribute[] = [],
  ) {
    this.target = target;
    const extensions: Record<string, string> = {};
    let labels: StringMap | undefined;
    for (const a of statics) {
      if (a.name === 'destination.labels' && typeof a.value === 'object' && a.value !== null) labels = a.value as StringMap;
      else if (a.name.startsWith('destination.') && typeof a.value === 'string') extensions[a.name] = a.value;
    }
    this.contextExtensions = Object.freeze(extensions);
    this.destinationLabels = labels;
  }

  create(callbacks: HttpFilterCallbacks): ExtAuthzFilter {
    return new ExtAuthzFilter(this, callbacks as ExtAuthzCallbacks);
  }

  /** Whether the gate lets this filter act on the request. */
  enabled(r: RbacRequest): boolean {
    if (this.gate === null) return true;
    const name = this.gate.matchingPolicy(r);
    const by = this.config.enabledBy!;
    return name !== null && (by.exact !== null ? name === by.exact : name.startsWith(by.prefix ?? ''));
  }
}

export class ExtAuthzFilter extends RbacRequestFilter<ExtAuthzCallbacks> {
  private waiting = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly factory: ExtAuthzFilterFactory,
    callbacks: ExtAuthzCallbacks,
  ) {
    super(callbacks);
  }

  decodeHeaders(_head: Buffer, _fields: Uint32Array): FilterStatus {
    const f = this.factory;
    if (!f.enabled(this)) return FilterStatus.CONTINUE;
    const call: CheckCall = {
      target: f.target, key: '', attributes: { attributes: {} }, quotas: [], deduplicationId: '',
      timeoutMs: f.config.timeoutMs, maxRetry: 0, baseRetryWaitMs: 0, maxRetryWaitMs: 0,
      extAuthz: this.checkRequest(),
    };
    this.waiting = true;
    this.timer = setTimeout(timedOut, f.config.timeoutMs + SAFETY_MARGIN_MS, this);
    policyTransport().check(call, (outcome) => this.onCheck(outcome));
    return FilterStatus.STOP_ITERATION;
  }

  /** The CheckRequest's AttributeContext, as Envoy fills it for an HTTP request. */
  private checkRequest(): object {
    const c = this.callbacks;
    const headers: Record<string, string> = {};
    const h = c.headers;
    for (let i = 0; i + 1 < h.length; i += 2) headers[h[i]!] = headers[h[i]!] === undefined ? h[i + 1]! : `${headers[h[i]!]},${h[i + 1]!}`;
    headers[':authority'] = c.authority;
    headers[':method'] = c.method;
    headers[':path'] = c.query === '' ? c.path : `${c.path}?${c.query}`;
    const size = Number(headers['content-length'] ?? -1);
    const now = Date.now();
    const conn = c.conn;
    const f = this.factory;
    return {
      attributes: {
        source: { address: { socket_address: { address: plainIp(conn.remoteAddress), port_value: conn.remotePort } }, principal: conn.peerUriSan },
        destination: { address: { socket_address: { address: f.destination.address, port_value: f.destination.port } }, labels: f.destinationLabels },
        context_extensions: f.contextExtensions,
        request: {
          time: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1e6 },
          http: {
            id: c.requestId, method: c.method, headers, path: headers[':path'], host: c.authority, scheme: c.scheme,
            size: Number.isFinite(size) ? size : -1, protocol: 'HTTP/1.1',
          },
        },
      },
    };
  }

  onCheck(outcome: CheckOutcome): void {
    if (!this.waiting) return;
    this.waiting = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const c = this.callbacks;
    if (c.finished) return;
    const { stats, config } = this.factory;
    if (!outcome.ok) {
      stats.extAuthzError++;
      if (config.failureModeAllow) {
        stats.extAuthzFailureModeAllowed++;
        c.continueDecoding();
      } else this.reply(config.statusOnError, '', '');
      return;
    }
    const a = outcome.authz;
    if (outcome.code === 0) {
      stats.extAuthzOk++;
      if (a !== undefined && a.headers.length > 0) {
        let lines = '';
        for (let i = 0; i < a.headers.length; i += 2) {
          c.removeUpstreamRequestHeader(a.headers[i]!);
          lines += `${a.headers[i]}: ${a.headers[i + 1]}\r\n`;
        }
        c.addUpstreamRequestHeaders(lines);
      }
      c.continueDecoding();
      return;
    }
    stats.extAuthzDenied++;
    let extra = '';
    if (a !== undefined) for (let i = 0; i < a.headers.length; i += 2) if (a.headers[i] !== 'content-length') extra += `${a.headers[i]}: ${a.headers[i + 1]}\r\n`;
    this.reply(a !== undefined && a.status !== 0 ? a.status : 403, a?.body ?? '', extra);
  }

  timedOut(): void {
    this.onCheck({ ok: false, error: 'no answer from the agent' });
  }

  private reply(status: number, body: string, extraHeaders: string): void {
    const grpc = isGrpcContentType(headerValueForMatch(this.callbacks, 'content-type') ?? undefined);
    const answer = localAnswer(status, null, body, grpc, ResponseFlag.UAEX);
    this.callbacks.sendLocalReply(grpc || extraHeaders === '' ? answer : { ...answer, headers: extraHeaders.includes('content-type:') ? extraHeaders : answer.headers + extraHeaders });
  }

  override onDestroy(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.waiting = false;
  }
}

function timedOut(filter: ExtAuthzFilter): void {
  filter.timedOut();
}

/** An IPv4-mapped IPv6 address as plain IPv4. */
function plainIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
