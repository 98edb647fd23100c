// What a finished request leaves behind: one sample in the worker's request
// stats and, when the access log is on, one line in Envoy's default format.
// Called once per request, from ActiveRequest.complete().
import type { ActiveRequest } from './active-request.js';
import { responseFlagsText } from './response-flags.js';

export function recordRequest(req: ActiveRequest): void {
  const durationMs = performance.now() - req.startMark;
  const clusterName = req.cluster === null ? '' : req.cluster.name;
  const ctx = req.conn.worker;
  // A direct response or redirect has no cluster: its series is named after the route's virtual host, as Envoy's vhost stats are.
  const destination = req.cluster !== null ? clusterName : req.route !== null ? req.route.virtualHost.name : '';
  ctx.stats.record(req.listenerName, destination, req.responseCode, req.flags, durationMs, req.conn.security);
  if (!ctx.accessLog.enabled) return;
  ctx.accessLog.write({
    // Derived from the duration rather than a Date.now() taken by every request, logged or not.
    startTime: Date.now() - durationMs,
    method: req.method,
    path: req.query === '' ? req.path : req.path + '?' + req.query,
    protocol: req.http11 ? 'HTTP/1.1' : 'HTTP/1.0',
    responseCode: req.responseCode,
    responseFlags: responseFlagsText(req.flags),
    bytesReceived: req.bytesReceived,
    bytesSent: req.bytesSent,
    durationMs,
    upstreamHost: req.endpoint === null ? '-' : req.endpoint.hostPort,
    upstreamCluster: clusterName === '' ? '-' : clusterName,
    requestId: req.requestId,
    authority: req.authority,
    forwardedFor: req.forwardedFor,
    userAgent: req.userAgent,
    peerUriSan: req.conn.peerUriSan,
  });
}
