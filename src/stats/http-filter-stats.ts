// The fault and CORS filters' stats: what each worker reports per listener
// stat prefix, the sum over workers, and the Prometheus families, named as
// Envoy's exporter names http.<stat_prefix>.fault.* and .cors.* (the prefix
// becomes the envoy_http_conn_manager_prefix label).
import type { FieldMetric } from './prometheus-text.js';
import { sumByKey } from './sum-by-key.js';

/** One worker's counters for one HTTP connection manager stat prefix. */
export interface HttpFilterCounters {
  readonly statPrefix: string;
  /** fault.delays_injected */
  readonly delaysInjected: number;
  /** fault.aborts_injected */
  readonly abortsInjected: number;
  /** fault.active_faults (a gauge) */
  readonly activeFaults: number;
  /** fault.faults_overflow: a fault skipped because max_active_faults was reached */
  readonly faultsOverflow: number;
  /** cors.origin_valid */
  readonly corsOriginValid: number;
  /** cors.origin_invalid */
  readonly corsOriginInvalid: number;
  /** rbac.allowed / rbac.denied: the enforced rules' decisions (every RBAC filter of the chain counts) */
  readonly rbacAllowed: number;
  readonly rbacDenied: number;
  /** rbac.shadow_allowed / rbac.shadow_denied: what the shadow (dry-run) rules would have decided */
  readonly rbacShadowAllowed: number;
  readonly rbacShadowDenied: number;
  /** ext_authz.ok / denied / error / failure_mode_allowed */
  readonly extAuthzOk: number;
  readonly extAuthzDenied: number;
  readonly extAuthzError: number;
  readonly extAuthzFailureModeAllowed: number;
}

type CounterField = Exclude<keyof HttpFilterCounters, 'statPrefix'>;

const FIELDS: readonly CounterField[] = [
  'delaysInjected', 'abortsInjected', 'activeFaults', 'faultsOverflow', 'corsOriginValid', 'corsOriginInvalid',
  'rbacAllowed', 'rbacDenied', 'rbacShadowAllowed', 'rbacShadowDenied',
  'extAuthzOk', 'extAuthzDenied', 'extAuthzError', 'extAuthzFailureModeAllowed',
];

export type HttpFilterMetric = FieldMetric<CounterField>;

export const HTTP_FILTER_METRICS: readonly HttpFilterMetric[] = [
  { name: 'envoy_http_fault_delays_injected', type: 'counter', help: 'Requests the fault filter delayed.', field: 'delaysInjected' },
  { name: 'envoy_http_fault_aborts_injected', type: 'counter', help: 'Requests the fault filter aborted.', field: 'abortsInjected' },
  { name: 'envoy_http_fault_active_faults', type: 'gauge', help: 'Requests carrying an injected fault now.', field: 'activeFaults' },
  { name: 'envoy_http_fault_faults_overflow', type: 'counter', help: 'Faults not injected because max_active_faults was reached.', field: 'faultsOverflow' },
  { name: 'envoy_http_cors_origin_valid', type: 'counter', help: 'Requests with an Origin the CORS policy allows.', field: 'corsOriginValid' },
  { name: 'envoy_http_cors_origin_invalid', type: 'counter', help: 'Requests with an Origin the CORS policy does not allow.', field: 'corsOriginInvalid' },
  { name: 'envoy_http_rbac_allowed', type: 'counter', help: 'Requests the RBAC filter let through.', field: 'rbacAllowed' },
  { name: 'envoy_http_rbac_denied', type: 'counter', help: 'Requests the RBAC filter denied (403).', field: 'rbacDenied' },
  { name: 'envoy_http_rbac_shadow_allowed', type: 'counter', help: 'Requests the RBAC shadow (dry-run) rules would let through.', field: 'rbacShadowAllowed' },
  { name: 'envoy_http_rbac_shadow_denied', type: 'counter', help: 'Requests the RBAC shadow (dry-run) rules would deny.', field: 'rbacShadowDenied' },
  { name: 'envoy_http_ext_authz_ok', type: 'counter', help: 'Requests the ext_authz server allowed.', field: 'extAuthzOk' },
  { name: 'envoy_http_ext_authz_denied', type: 'counter', help: 'Requests the ext_authz server denied.', field: 'extAuthzDenied' },
  { name: 'envoy_http_ext_authz_error', type: 'counter', help: 'ext_authz Checks that failed or timed out.', field: 'extAuthzError' },
  { name: 'envoy_http_ext_authz_failure_mode_allowed', type: 'counter', help: 'Requests let through after an ext_authz error (failure_mode_allow).', field: 'extAuthzFailureModeAllowed' },
];

/** Sums the workers' counters per stat prefix, sorted by prefix. */
export function mergeHttpFilterStats(perWorker: readonly (readonly HttpFilterCounters[] | undefined)[]): HttpFilterCounters[] {
  return sumByKey(perWorker.flatMap((list) => list ?? []), 'statPrefix', FIELDS);
}

/** The label set of one stat prefix's samples. */
export function httpFilterLabels(c: HttpFilterCounters): [string, string][] {
  return [['envoy_http_conn_manager_prefix', c.statPrefix]];
}
