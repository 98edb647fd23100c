// One sampled span, as the request leaves it: ids, timing and the few values
// its tags need, kept as plain fields. Made only for a sampled request; its
// Zipkin v2 JSON is written at report time (toJson), off the request path.

export const KIND_SERVER = 0;
export const KIND_CLIENT = 1;

export class Span {
  // ---- at the request's start ----
  traceId = '';
  id = '';
  parentId = '';
  kind = KIND_CLIENT;
  /** A server span sharing its caller's client span id (Zipkin's shared span model). */
  shared = false;
  name = '';
  /** Epoch microseconds. */
  timestampUs = 0;
  method = '';
  url = '';
  protocol = '';
  userAgent = '';
  requestId = '';
  peerAddress = '';
  /** custom_tags: tag, value, tag, value, ... */
  custom: string[] | null = null;
  /** spawn_upstream_span: the id of the router's child CLIENT span ('' = none). */
  upstreamSpanId = '';

  // ---- at its end ----
  durationUs = 0;
  statusCode = 0;
  responseFlags = '-';
  upstreamCluster = '';
  upstreamAddress = '';
  requestSize = 0;
  responseSize = 0;

  /** The Zipkin v2 JSON of this span (and of its upstream child, comma-joined, when it has one). */
  toJson(serviceName: string, nodeId: string): string {
    const tags: Record<string, string> = {
      component: 'proxy',
      node_id: nodeId,
      'guid:x-request-id': this.requestId,
      'http.url': this.url,
      'http.method': this.method,
      'http.protocol': this.protocol,
      'http.status_code': String(this.statusCode),
      'peer.address': this.peerAddress,
      request_size: String(this.requestSize),
      response_size: String(this.responseSize),
      response_flags: this.responseFlags,
    };
    if (this.userAgent !== '') tags.user_agent = this.userAgent;
    if (this.upstreamCluster !== '') {
      tags.upstream_cluster = this.upstreamCluster;
      tags['upstream_cluster.name'] = this.upstreamCluster;
    }
    if (this.upstreamAddress !== '') tags.upstream_address = this.upstreamAddress;
    if (this.statusCode === 0 || this.statusCode >= 500) tags.error = 'true';
    const custom = this.custom;
    if (custom !== null) for (let i = 0; i + 1 < custom.length; i += 2) tags[custom[i]!] = custom[i + 1]!;
    const local = { serviceName };
    const span: Record<string, unknown> = {
      traceId: this.traceId,
      id: this.id,
      kind: this.kind === KIND_SERVER ? 'SERVER' : 'CLIENT',
      name: this.name,
      timestamp: this.timestampUs,
      duration: Math.max(1, this.durationUs),
      localEndpoint: local,
      tags,
    };
    if (this.parentId !== '') span.parentId = this.parentId;
    if (this.shared) span.shared = true;
    let json = JSON.stringify(span);
    if (this.upstreamSpanId !== '') {
      const child: Record<string, unknown> = {
        traceId: this.traceId,
        id: this.upstreamSpanId,
        parentId: this.id,
        kind: 'CLIENT',
        name: 'router ' + (this.upstreamCluster === '' ? '-' : this.upstreamCluster) + ' egress',
        timestamp: this.timestampUs,
        duration: Math.max(1, this.durationUs),
        localEndpoint: local,
        tags: { component: 'proxy', upstream_cluster: this.upstreamCluster, 'http.status_code': String(this.statusCode), ...(tags.error === undefined ? {} : { error: 'true' }) },
      };
      json += ',' + JSON.stringify(child);
    }
    return json;
  }

  /** Spans this object reports (itself, and its upstream child). */
  get count(): number {
    return this.upstreamSpanId === '' ? 1 : 2;
  }
}
