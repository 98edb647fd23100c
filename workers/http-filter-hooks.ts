// Where an ActiveRequest meets its route's HTTP filters (http-filter-run.ts)
// at the head and after a fault delay: a filter's answer (CORS preflight,
// fault abort) becomes the response; otherwise the request goes on upstream.
// Only requests whose route has filters get here.
import type { ActiveRequest } from './active-request.js';
import { HttpFilterRun } from './http-filter-run.js';
import { sendResponse } from './local-response.js';
import type { RouteFilters } from './route-filters.js';

/** The route's HTTP filters on the head (CORS, then fault); false when they answered the request themselves. */
export function runRequestFilters(req: ActiveRequest, filters: RouteFilters | null, buf: Buffer, out: Uint32Array): boolean {
  if (filters === null) return true;
  const run = (req.filterRun = new HttpFilterRun(filters));
  const answer = run.decodeHeaders(req, req, buf, out);
  req.flags |= run.flags;
  if (answer === null) return true;
  sendResponse(req, answer.status, answer.body, answer.headers);
  return false;
}

/** The fault delay elapsed: abort now, or go upstream. */
export function afterFaultDelay(req: ActiveRequest): void {
  const run = req.filterRun!;
  const answer = run.afterDelay();
  req.flags |= run.flags;
  if (req.finished) return;
  if (answer !== null) sendResponse(req, answer.status, answer.body, answer.headers);
  else req.proceed();
}
