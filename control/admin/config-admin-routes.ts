// The control admin endpoints the config store answers: health, readiness,
// /debug/configz, /metrics, and POST /apply and /delete (a YAML body of one
// or many documents; per-resource results as JSON; 422 when any was
// rejected, in which case nothing changed; both need the admin token). Other parts of the control plane
// (xDS: /debug/syncz) add their routes to the same table.

import type { Logger } from '../../src/log.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../src/stats/prometheus-text.js';
import type { ConfigStore, ApiResponse } from '../store/config-store.js';
import { jsonReply, reply, TEXT, type AdminRoute, type Reply } from '../../src/admin/admin-http.js';
import { renderConfigMetrics } from './config-metrics.js';

export interface ConfigAdminState {
  /** The watched folder (absolute), or null without --config-dir. */
  readonly configDir: string | null;
  /** True once the first folder read is in the store and the process is not shutting down. */
  isReady(): boolean;
  /** Extra metrics text appended to /metrics (other components), if any. */
  extraMetrics?(): string;
  /** The bearer token POST /apply and /delete need, and where a client finds it (admin-token.ts). */
  readonly writeToken: { readonly token: string; readonly hint: string };
}

/** The JSON body of /debug/configz. */
export interface Configz {
  readonly revision: number;
  readonly configDir: string | null;
  readonly resources: ReturnType<ConfigStore['statuses']>;
  readonly fileProblems: ReturnType<ConfigStore['fileProblems']>;
}

function apiReply(log: Logger, operation: string, r: ApiResponse): Reply {
  const results = r.results.map((x) => (x.reason === undefined ? `${x.key} ${x.outcome}` : `${x.key} ${x.outcome}: ${x.reason}`));
  if (r.rejected) log.warn({ operation, revision: r.revision, results }, `${operation} rejected`);
  else log.info({ operation, revision: r.revision, results }, operation);
  return jsonReply(r.rejected ? 422 : 200, r);
}

export function configAdminRoutes(store: ConfigStore, state: ConfigAdminState, log: Logger): AdminRoute[] {
  return [
    { method: 'GET', path: '/healthz', handle: () => reply(200, TEXT, 'OK\n') },
    { method: 'GET', path: '/ready', handle: () => (state.isReady() ? reply(200, TEXT, 'READY\n') : reply(503, TEXT, 'NOT READY\n')) },
    {
      method: 'GET',
      path: '/debug/configz',
      handle: () => {
        const body: Configz = {
          revision: store.revision(), configDir: state.configDir, resources: store.statuses(), fileProblems: store.fileProblems(),
        };
        return jsonReply(200, body);
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      handle: () => reply(200, PROMETHEUS_CONTENT_TYPE, renderConfigMetrics(store) + (state.extraMetrics?.() ?? '')),
    },
    { method: 'POST', path: '/apply', bearer: state.writeToken, handle: async (body) => apiReply(log, 'apply', await store.apply(body)) },
    { method: 'POST', path: '/delete', bearer: state.writeToken, handle: async (body) => apiReply(log, 'delete', await store.delete(body)) },
  ];
}
