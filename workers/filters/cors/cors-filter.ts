// envoy.filters.http.cors as a filter of the chain: on the head it checks the
// request's Origin against the route's merged policy (cors-config.ts) and
// answers an allowed preflight itself; every response to an allowed origin,
// from the upstream or the proxy, gets the CORS headers in encodeHeaders.
import { CORS_FILTER_NAME } from '../../../src/config/http-filter-names.js';
import { FilterStatus, PassThroughFilter, type HttpFilterCallbacks, type HttpFilterFactory, type ResponseHeaderEdit } from '../http-filter.js';
import type { CompiledCors } from './cors-config.js';

export class CorsFilterFactory implements HttpFilterFactory {
  readonly name = CORS_FILTER_NAME;
  /** The names to drop from an upstream response, cached for the last removal list seen (a route always has the same). */
  private removeFor: readonly string[] | null | undefined = undefined;
  private removeResult: readonly string[] = [];

  constructor(readonly cors: CompiledCors) {}

  create(callbacks: HttpFilterCallbacks): CorsFilter {
    return new CorsFilter(this, callbacks);
  }

  /** `remove` plus the names CORS sets (computed once per distinct list). */
  removeWith(remove: readonly string[] | null): readonly string[] {
    if (this.removeFor !== remove) {
      const names = new Set(remove ?? []);
      for (const n of this.cors.responseNames) names.add(n);
      this.removeResult = Object.freeze([...names]);
      this.removeFor = remove;
    }
    return this.removeResult;
  }
}

export class CorsFilter extends PassThroughFilter {
  /** The request's Origin when the policy allows it: the response then carries the CORS headers. */
  private origin: string | null = null;

  constructor(
    private readonly factory: CorsFilterFactory,
    private readonly callbacks: HttpFilterCallbacks,
  ) {
    super();
  }

  decodeHeaders(head: Buffer, fields: Uint32Array): FilterStatus {
    const cors = this.factory.cors;
    const origin = (this.origin = cors.checkOrigin(head, fields));
    if (origin === null || this.callbacks.method !== 'OPTIONS') return FilterStatus.CONTINUE;
    const answer = cors.preflight(head, fields);
    if (answer === null) return FilterStatus.CONTINUE; // not a preflight: an OPTIONS request for the upstream
    this.callbacks.sendLocalReply(answer);
    return FilterStatus.STOP_ITERATION;
  }

  override encodeHeaders(edit: ResponseHeaderEdit): void {
    const origin = this.origin;
    if (origin === null) return;
    edit.remove = this.factory.removeWith(edit.remove);
    edit.add += this.factory.cors.responseHeaders(origin);
  }
}
