// A request's three timers and what each does when it fires: the route
// timeout (whole request: 504, or cut a started response), the per-try
// timeout (one attempt: retry or 504) and the retry backoff (next attempt).
// Callbacks are module functions given the request, so arming makes no closure.
import type { ActiveRequest } from './active-request.js';
import { LocalReply } from './local-reply.js';
import { sendLocalReply } from './local-response.js';
import { ResponseFlag } from './response-flags.js';

/** Arms the route timeout once, when the route has one and the request is still running. */
export function startRouteTimer(req: ActiveRequest): void {
  if (req.timeoutMs > 0 && req.routeTimer === null && !req.finished) {
    req.routeTimer = setTimeout(onRouteTimeout, req.timeoutMs, req);
  }
}

/** Arms the retry policy's per-try timeout for the current attempt, if it has one. */
export function startTryTimer(req: ActiveRequest): void {
  const ms = req.retry === null ? 0 : req.retry.policy.perTryTimeoutMs;
  if (ms > 0 && req.tryTimer === null) req.tryTimer = setTimeout(onTryTimeout, ms, req);
}

export function clearTryTimer(req: ActiveRequest): void {
  if (req.tryTimer !== null) {
    clearTimeout(req.tryTimer);
    req.tryTimer = null;
  }
}

/** Waits the retry policy's backoff, then starts the next attempt. */
export function startBackoffTimer(req: ActiveRequest): void {
  req.backoffTimer = setTimeout(onBackoffElapsed, req.retry!.backoffMs(), req);
}

export function clearBackoffTimer(req: ActiveRequest): void {
  if (req.backoffTimer !== null) {
    clearTimeout(req.backoffTimer);
    req.backoffTimer = null;
  }
}

function onBackoffElapsed(req: ActiveRequest): void {
  req.backoffTimer = null;
  if (!req.finished) req.beginAttempt();
}

function onRouteTimeout(req: ActiveRequest): void {
  req.routeTimer = null;
  if (req.finished) return;
  if (req.cluster !== null) req.cluster.counters.rqTimeout++;
  if (req.upstreamReady && !req.responseStarted) req.endpoint!.health.recordLocalFailure(); // outlier detection: a timeout
  clearBackoffTimer(req);
  req.abandonAttempt();
  if (req.responseStarted) {
    req.flags |= ResponseFlag.UT;
    req.conn.destroy();
    req.complete();
  } else {
    sendLocalReply(req, LocalReply.UPSTREAM_TIMEOUT);
  }
}

function onTryTimeout(req: ActiveRequest): void {
  req.tryTimer = null;
  if (req.finished || req.responseStarted) return;
  req.cluster!.counters.rqTimeout++;
  if (req.upstreamReady) req.endpoint!.health.recordLocalFailure(); // outlier detection: a timeout
  req.abandonAttempt();
  if (req.retry!.retriesTimeout() && req.canRetry()) req.scheduleRetry();
  else sendLocalReply(req, LocalReply.UPSTREAM_TIMEOUT);
}
