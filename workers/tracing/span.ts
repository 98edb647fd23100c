// One sampled span, as the request leaves it: ids, timing and the few values
// its tags need, kept as plain fields. Made only for a sampled request; its
// Zipkin v2 JSON (toJson) is written into the reporter's batch when the
// request ends, so the object dies young.

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

  /**
   * The Zipkin v2 JSON of this span (and of its upstream child, comma-joined, when it has one), written as a
   * string: ids, numbers and fixed words need no escaping; every other value goes through JSON.stringify.
   * `local` is the JSON of localEndpoint (the same for every span of a worker).
   */
  toJson(local: string, nodeIdJson: string): string {
    const error = this.statusCode === 0 || this.statusCode >= 500;
    let tags =
      '{"component":"proxy","node_id":' + nodeIdJson +
      ',"guid:x-request-id":' + JSON.stringify(this.requestId) +
      ',"http.url":' + JSON.stringify(this.url) +
      ',"http.method":' + JSON.stringify(this.method) +
      ',"http.protocol":"' + this.protocol +
      '","http.status_code":"' + this.statusCode +
      '","peer.address":' + JSON.stringify(this.peerAddress) +
      ',"request_size":"' + this.requestSize +
      '","response_size":"' + this.responseSize +
      '","response_flags":"' + this.responseFlags + '"';
    if (this.userAgent !== '') tags += ',"user_agent":' + JSON.stringify(this.userAgent);
    let clusterJson = '';
    if (this.upstreamCluster !== '') {
      clusterJson = JSON.stringify(this.upstreamCluster);
      tags += ',"upstream_cluster":' + clusterJson + ',"upstream_cluster.name":' + clusterJson;
    }
    if (this.upstreamAddress !== '') tags += ',"upstream_address":' + JSON.stringify(this.upstreamAddress);
    if (error) tags += ',"error":"true"';
    const custom = this.custom;
    if (custom !== null) for (let i = 0; i + 1 < custom.length; i += 2) tags += ',' + JSON.stringify(custom[i]) + ':' + JSON.stringify(custom[i + 1]);
    tags += '}';
    const duration = Math.max(1, this.durationUs);
    let json =
      '{"traceId":"' + this.traceId + '","id":"' + this.id + '"' +
      (this.parentId === '' ? '' : ',"parentId":"' + this.parentId + '"') +
      ',"kind":"' + (this.kind === KIND_SERVER ? 'SERVER' : 'CLIENT') +
      '","name":' + JSON.stringify(this.name) +
      ',"timestamp":' + this.timestampUs + ',"duration":' + duration +
      ',"localEndpoint":' + local + (this.shared ? ',"shared":true' : '') + ',"tags":' + tags + '}';
    if (this.upstreamSpanId !== '') {
      json +=
        ',{"traceId":"' + this.traceId + '","id":"' + this.upstreamSpanId + '","parentId":"' + this.id +
        '","kind":"CLIENT","name":' + JSON.stringify('router ' + (this.upstreamCluster === '' ? '-' : this.upstreamCluster) + ' egress') +
        ',"timestamp":' + this.timestampUs + ',"duration":' + duration + ',"localEndpoint":' + local +
        ',"tags":{"component":"proxy","upstream_cluster":' + (clusterJson === '' ? '""' : clusterJson) +
        ',"http.status_code":"' + this.statusCode + '"' + (error ? ',"error":"true"' : '') + '}}';
    }
    return json;
  }

  /** Spans this object reports (itself, and its upstream child). */
  get count(): number {
    return this.upstreamSpanId === '' ? 1 : 2;
  }
}
