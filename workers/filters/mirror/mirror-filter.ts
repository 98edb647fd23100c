// A route's request_mirror_policies as a filter of the chain (Envoy keeps
// them in the router; here they are one filter, just before it): on the head,
// for each policy whose fraction is rolled, a copy of the request goes to the
// shadow cluster (named by the policy or, with cluster_header, by the
// request's header: no copy when absent or not a cluster) with the head the
// router sends and the body so far; later body pieces follow as they
// arrive. Nothing here touches the primary.
import type { RequestMirrorPolicy } from '../../../src/config/bootstrap-types.js';
import type { RandomSource } from '../fault/fault-config.js';
import { findHeader } from '../../header-block.js';
import { FilterStatus, PassThroughFilter, type HttpFilterCallbacks, type HttpFilterFactory } from '../http-filter.js';
import { RequestMirror } from './request-mirror.js';

export const MIRROR_FILTER_NAME = 'isthmus.request_mirror';

export class MirrorFilterFactory implements HttpFilterFactory {
  readonly name = MIRROR_FILTER_NAME;

  constructor(
    /** At least one, each with a fraction above 0. */
    readonly policies: readonly RequestMirrorPolicy[],
    /** The route's timeout: a shadow is bound by it too. */
    readonly timeoutMs: number,
    readonly random: RandomSource,
  ) {}

  create(callbacks: HttpFilterCallbacks): MirrorFilter {
    return new MirrorFilter(this, callbacks);
  }
}

export class MirrorFilter extends PassThroughFilter {
  private mirrors: RequestMirror[] | null = null;

  constructor(
    private readonly factory: MirrorFilterFactory,
    private readonly callbacks: HttpFilterCallbacks,
  ) {
    super();
  }

  decodeHeaders(requestHead: Buffer, fields: Uint32Array): FilterStatus {
    const { policies, random, timeoutMs } = this.factory;
    const cb = this.callbacks;
    for (let i = 0; i < policies.length; i++) {
      const p = policies[i]!;
      if (p.fraction < 1 && !(p.fraction > 0 && random() < p.fraction)) continue;
      // No whole body to copy (it was too large to keep), or a head the router will refuse: no copy.
      const body = cb.bodySoFar();
      const head = body === null ? null : cb.upstreamHead();
      if (head === null) break;
      const name = p.cluster ?? findHeader(requestHead, fields, p.clusterHeader!)?.trim();
      const cluster = name === undefined || name === '' ? undefined : cb.clusters.get(name);
      if (cluster === undefined) continue;
      const mirror = RequestMirror.start(cluster, head, body!, cb.requestComplete, timeoutMs);
      if (mirror !== null) (this.mirrors ??= []).push(mirror);
    }
    return FilterStatus.CONTINUE;
  }

  override decodeData(piece: Buffer): void {
    const m = this.mirrors;
    if (m !== null) for (let i = 0; i < m.length; i++) m[i]!.write(piece);
  }

  override decodeComplete(): void {
    const m = this.mirrors;
    if (m !== null) for (let i = 0; i < m.length; i++) m[i]!.endRequest();
  }

  /** A copy whose request never completed goes with the primary. */
  override onDestroy(): void {
    const m = this.mirrors;
    if (m !== null) for (let i = 0; i < m.length; i++) m[i]!.primaryDone();
  }
}
