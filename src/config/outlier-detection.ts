// config.cluster.v3.OutlierDetection: consecutive 5xx / gateway-failure
// ejection and success-rate ejection, with Envoy's defaults and ranges. The
// local-origin and failure-percentage detectors are not modelled: their fields
// are reported as unsupported (split_external_local_origin_errors only as true).

import type { OutlierDetection } from './bootstrap-types.js';
import { UINT32_MAX, type ValueReader } from './yaml-reader.js';

/** Envoy's defaults (max_ejection_time: 300 s or base_ejection_time, whichever is larger). */
export const DEFAULT_OUTLIER_DETECTION: OutlierDetection = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  enforcingSuccessRate: 100,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1900,
};

/** config.cluster.v3.OutlierDetection; `{}` turns detection on with every default. */
export function readOutlierDetection(v: ValueReader): OutlierDetection | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  let ok = true;
  const int = (name: string, max: number, fallback: number): number => {
    const f = obj.field(name);
    const n = f.integer(0, max);
    if (n === undefined && !f.missing) ok = false;
    return n ?? fallback;
  };
  const positiveDuration = (name: string, fallback: number): number => {
    const f = obj.field(name);
    const ms = f.duration();
    if (ms === undefined) {
      if (!f.missing) ok = false;
      return fallback;
    }
    if (ms <= 0) {
      f.problem('must be greater than 0');
      ok = false;
    }
    return ms;
  };
  const d = DEFAULT_OUTLIER_DETECTION;
  const consecutive5xx = int('consecutive_5xx', UINT32_MAX, d.consecutive5xx);
  const consecutiveGatewayFailure = int('consecutive_gateway_failure', UINT32_MAX, d.consecutiveGatewayFailure);
  const intervalMs = positiveDuration('interval', d.intervalMs);
  const baseEjectionTimeMs = positiveDuration('base_ejection_time', d.baseEjectionTimeMs);
  const maxEjectionField = obj.field('max_ejection_time');
  const maxEjectionTimeMs = positiveDuration('max_ejection_time', Math.max(d.maxEjectionTimeMs, baseEjectionTimeMs));
  if (ok && maxEjectionTimeMs < baseEjectionTimeMs) {
    maxEjectionField.problem('must not be less than base_ejection_time');
    ok = false;
  }
  const maxEjectionPercent = int('max_ejection_percent', 100, d.maxEjectionPercent);
  const enforcingConsecutive5xx = int('enforcing_consecutive_5xx', 100, d.enforcingConsecutive5xx);
  const enforcingConsecutiveGatewayFailure = int('enforcing_consecutive_gateway_failure', 100, d.enforcingConsecutiveGatewayFailure);
  const enforcingSuccessRate = int('enforcing_success_rate', 100, d.enforcingSuccessRate);
  const successRateMinimumHosts = int('success_rate_minimum_hosts', UINT32_MAX, d.successRateMinimumHosts);
  const successRateRequestVolume = int('success_rate_request_volume', UINT32_MAX, d.successRateRequestVolume);
  const successRateStdevFactor = int('success_rate_stdev_factor', UINT32_MAX, d.successRateStdevFactor);
  // Istio writes this field only to set it true (DestinationRule splitExternalLocalOriginErrors); false is the default.
  const split = obj.field('split_external_local_origin_errors');
  const splitValue = split.bool();
  if (splitValue === undefined && !split.missing) ok = false;
  if (splitValue === true) {
    split.problem('is not supported (local-origin errors are counted with the 5xx responses); remove it or set it false');
    ok = false;
  }
  obj.done();
  if (!ok) return undefined;
  return {
    consecutive5xx,
    consecutiveGatewayFailure,
    intervalMs,
    baseEjectionTimeMs,
    maxEjectionTimeMs,
    maxEjectionPercent,
    enforcingConsecutive5xx,
    enforcingConsecutiveGatewayFailure,
    enforcingSuccessRate,
    successRateMinimumHosts,
    successRateRequestVolume,
    successRateStdevFactor,
  };
}
