// What a finished request leaves behind: one sample in the worker's request
// stats and, when its filter chain has access logs, a line in each of them.
// Called once per request, from ActiveRequest.complete().
import { performance } from 'node:perf_hooks';
import type { ActiveRequest } from './active-request.js';
import { finishRequestTrace } from './tracing/request-trace.js';

/**
 * Wall-clock ms minus performance.now(), re-read from Date.now() at most every WALL_RESYNC_MS: a logged request's
 * start time comes from the monotonic clock it was timed with, without a Date.now() (a V8 runtime call) per line.
 * The offset follows wall-clock steps (NTP, settimeofday) within that interval.
 */
const WALL_RESYNC_MS = 100;
let wallOffset = 0;
let wallSyncedAt = -Infinity;

function wallClockAt(mark: number): number {
  if (mark - wallSyncedAt >= WALL_RESYNC_MS || mark < wallSyncedAt) {
    wallSyncedAt = performance.now();
    wallOffset = Date.now() - wallSyncedAt;
  }
  return wallOffset + mark;
}

export function recordRequest(req: ActiveRequest): void {
  const now = performance.now();
  const durationMs = now - req.startMark;
  const clusterName = req.cluster === null ? '' : req.cluster.name;
  const ctx = req.conn.worker;
  // A direct response or redirect has no cluster: its series is named after the route's virtual host, as Envoy's vhost stats are.
  const destination = req.cluster !== null ? clusterName : req.route !== null ? req.route.virtualHost.name : '';
  ctx.stats.record(req.listenerName, destination, req.responseCode, req.flags, durationMs, req.grpcStatus, req.conn.security);
  const trace = req.trace;
  if (trace !== null && trace.span !== null) finishRequestTrace(req, trace.span, durationMs);
  const logs = req.logs;
  // The start derived from the duration rather than a Date.now() taken by every request, logged or not.
  if (logs !== null) logs.log(req, wallClockAt(now) - durationMs, durationMs, now);
  // Logged (traceable_filter reads its bits): the context goes back to the worker's pool.
  if (trace !== null) {
    req.trace = null;
    ctx.tracing.releaseTrace(trace);
  }
}
