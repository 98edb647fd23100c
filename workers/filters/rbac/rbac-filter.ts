// envoy.filters.http.rbac as a filter of the chain: on the head, the shadow
// (dry-run) rules are evaluated and only counted (rbac.shadow_allowed /
// shadow_denied), then the enforced rules decide: allowed requests go on
// (rbac.allowed), denied ones are answered 403 `RBAC: access denied` with
// response flag RBAC (rbac.denied); a gRPC request gets PERMISSION_DENIED.
// No allocation per request beyond the filter object itself.
import { RBAC_FILTER_NAME } from '../../../src/config/http-filter-names.js';
import type { RequestView } from '../../../src/routing/request-view.js';
import { headerValueForMatch } from '../../../src/routing/request-view.js';
import type { ListenerFilterStats } from '../../http-filter-stats.js';
import { ResponseFlag } from '../../response-flags.js';
import { isGrpcContentType, localAnswer, type FilterAnswer } from '../filter-answer.js';
import { FilterStatus, PassThroughFilter, type HttpFilterCallbacks, type HttpFilterFactory } from '../http-filter.js';
import { ipv4, type CompiledRbacRules, type RbacConnectionView, type RbacRequest } from './rbac-compile.js';

export const RBAC_DENIED_BODY = 'RBAC: access denied';
const PLAIN_DENIAL: FilterAnswer = Object.freeze(localAnswer(403, null, RBAC_DENIED_BODY, false, ResponseFlag.RBAC));
const GRPC_DENIAL: FilterAnswer = Object.freeze(localAnswer(403, null, RBAC_DENIED_BODY, true, ResponseFlag.RBAC));

/** The callbacks an RBAC filter needs: the request and its downstream connection. */
export interface RbacCallbacks extends HttpFilterCallbacks {
  readonly conn: RbacConnectionView;
}

export class RbacFilterFactory implements HttpFilterFactory {
  readonly name = RBAC_FILTER_NAME;

  constructor(
    readonly rules: CompiledRbacRules | null,
    readonly shadow: CompiledRbacRules | null,
    readonly stats: ListenerFilterStats,
  ) {}

  create(callbacks: HttpFilterCallbacks): RbacFilter {
    return new RbacFilter(this, callbacks as RbacCallbacks);
  }
}

/** A filter that evaluates RBAC rules on its request (the RBAC filter; ext_authz's gate): the RbacRequest view. */
export abstract class RbacRequestFilter<C extends RbacCallbacks> extends PassThroughFilter implements RbacRequest {
  private v4 = -2;

  constructor(protected readonly callbacks: C) {
    super();
  }

  get request(): RequestView {
    return this.callbacks;
  }

  get conn(): C['conn'] {
    return this.callbacks.conn;
  }

  get remoteIpv4(): number {
    if (this.v4 === -2) this.v4 = ipv4(this.callbacks.conn.remoteAddress);
    return this.v4;
  }
}

export class RbacFilter extends RbacRequestFilter<RbacCallbacks> {
  constructor(
    private readonly factory: RbacFilterFactory,
    callbacks: RbacCallbacks,
  ) {
    super(callbacks);
  }

  decodeHeaders(_head: Buffer, _fields: Uint32Array): FilterStatus {
    const { rules, shadow, stats } = this.factory;
    if (shadow !== null) {
      if (shadow.allows(this)) stats.rbacShadowAllowed++;
      else stats.rbacShadowDenied++;
    }
    if (rules === null) return FilterStatus.CONTINUE;
    if (rules.allows(this)) {
      stats.rbacAllowed++;
      return FilterStatus.CONTINUE;
    }
    stats.rbacDenied++;
    const grpc = isGrpcContentType(headerValueForMatch(this.callbacks, 'content-type') ?? undefined);
    this.callbacks.sendLocalReply(grpc ? GRPC_DENIAL : PLAIN_DENIAL);
    return FilterStatus.STOP_ITERATION;
  }
}
