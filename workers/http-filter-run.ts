// One request's pass through the HTTP filters of its route, in Envoy's chain
// order: CORS (a preflight is answered here), then fault (abort now, or
// delay and decide the abort when the delay ends), then the router, which
// starts the mirrors. Only a request whose route has filters gets one; the
// ActiveRequest calls in at its steps (head, proceed, body, response head,
// done) and acts on what comes back.
import type { RequestView } from '../src/routing/request-view.js';
import type { FaultDelayTarget, FaultRun } from './fault-filter.js';
import type { FilterAnswer } from './filter-answer.js';
import { headerList } from './header-block.js';
import { RequestMirror } from './request-mirror.js';
import { ResponseFlag } from './response-flags.js';
import type { RouteFilters } from './route-filters.js';
import type { UpstreamCluster } from './upstream-cluster.js';

/**
 * The request as the fault's header matchers see it, over the head in buf/out
 * (valid only while the head is being handled). One per worker, reset per use.
 */
class HeadView implements RequestView {
  method = '';
  path = '';
  query = '';
  authority = '';
  private buf: Buffer | null = null;
  private out: Uint32Array | null = null;
  private list: string[] | null = null;

  reset(req: RequestView, buf: Buffer, out: Uint32Array): this {
    this.method = req.method;
    this.path = req.path;
    this.query = req.query;
    this.authority = req.authority;
    this.buf = buf;
    this.out = out;
    this.list = null;
    return this;
  }

  get headers(): readonly string[] {
    if (this.list === null) this.list = headerList(this.buf!, this.out!);
    return this.list;
  }

  release(): void {
    this.buf = null;
    this.out = null;
    this.list = null;
  }
}

const headView = new HeadView();

export class HttpFilterRun {
  /** Response flags the filters set (DI, FI). */
  flags = 0;
  /** The request's Origin when its CORS policy allows it: every response then carries the CORS headers. */
  corsOrigin: string | null = null;
  private fault: FaultRun | null = null;
  private mirrors: RequestMirror[] | null = null;

  constructor(readonly filters: RouteFilters) {}

  /** Runs CORS then fault on the head in buf/out; returns the answer to send now, or null to go on (then check `delaying`). */
  decodeHeaders(target: FaultDelayTarget, req: RequestView, buf: Buffer, out: Uint32Array): FilterAnswer | null {
    const f = this.filters;
    const cors = f.cors;
    if (cors !== null) {
      const origin = cors.checkOrigin(buf, out);
      this.corsOrigin = origin;
      if (origin !== null && req.method === 'OPTIONS') {
        const answer = cors.preflight(buf, out);
        if (answer !== null) return answer;
      }
    }
    const fault = f.fault;
    if (fault !== null && fault.matches(headView.reset(req, buf, out))) {
      headView.release();
      const run = (this.fault = fault.begin(buf, out));
      const answer = run.decide(target);
      if (run.delaying) this.flags |= ResponseFlag.DI;
      if (answer !== null) this.flags |= answer.flag;
      return answer;
    }
    headView.release();
    return null;
  }

  get delaying(): boolean {
    return this.fault !== null && this.fault.delaying;
  }

  /** The fault delay ended: the abort to send now, or null to go on. */
  afterDelay(): FilterAnswer | null {
    const answer = this.fault!.afterDelay();
    if (answer !== null) this.flags |= answer.flag;
    return answer;
  }

  /**
   * The request goes upstream: starts a copy for each mirror policy whose fraction
   * is rolled, with the body received so far (`body` null: it was too large to
   * keep, so there is nothing whole to copy).
   */
  startMirrors(
    clusters: ReadonlyMap<string, UpstreamCluster>,
    upstreamHead: Buffer,
    body: readonly Buffer[] | null,
    requestComplete: boolean,
    timeoutMs: number,
  ): void {
    const policies = this.filters.mirrors;
    if (policies.length === 0 || body === null) return;
    const random = this.filters.random;
    for (let i = 0; i < policies.length; i++) {
      const p = policies[i]!;
      if (p.fraction < 1 && !(p.fraction > 0 && random() < p.fraction)) continue;
      const cluster = clusters.get(p.cluster);
      if (cluster === undefined) continue;
      const mirror = RequestMirror.start(cluster, upstreamHead, body, requestComplete, timeoutMs);
      if (mirror !== null) (this.mirrors ??= []).push(mirror);
    }
  }

  mirrorBody(piece: Buffer): void {
    const m = this.mirrors;
    if (m !== null) for (let i = 0; i < m.length; i++) m[i]!.write(piece);
  }

  mirrorEnd(): void {
    const m = this.mirrors;
    if (m !== null) for (let i = 0; i < m.length; i++) m[i]!.endRequest();
  }

  /** CORS lines for a response (from the upstream or the proxy); '' when none. */
  responseHeaders(): string {
    const origin = this.corsOrigin;
    return origin === null ? '' : this.filters.cors!.responseHeaders(origin);
  }

  /** The request is over: the delay timer and the active fault go; a mirror whose request never completed goes too. */
  end(): void {
    if (this.fault !== null) this.fault.end();
    const m = this.mirrors;
    if (m !== null) for (let i = 0; i < m.length; i++) m[i]!.primaryDone();
  }
}
