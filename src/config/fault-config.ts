// extensions.filters.http.fault.v3.HTTPFault: fixed or header-controlled
// delays and aborts (HTTP or gRPC status) for a share of requests. Used as the
// fault filter's own config (the listener's default) and per route / virtual host.

import type { FaultAbort, FaultConfig, FaultDelay } from './bootstrap-types.js';
import { readFractionalPercent } from './fraction.js';
import { readHeaderMatcher } from './string-match.js';
import { readTypedConfig } from './typed-config.js';
import { UINT32_MAX, type ObjectReader, type ValueReader } from './yaml-reader.js';

export { FAULT_FILTER_NAME } from './http-filter-names.js';
export const FAULT_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

/**
 * percentage: an unset FractionalPercent is 0 in Envoy (numerator 0), so a
 * delay or abort without a percentage never fires; Istio always writes one.
 */
function readPercentage(obj: ObjectReader): number | undefined {
  const f = obj.field('percentage');
  return f.missing ? 0 : readFractionalPercent(f);
}

/** An empty marker message (header_delay: {}, header_abort: {}). */
function readMarker(v: ValueReader): boolean {
  const obj = v.object();
  obj?.done();
  return obj !== undefined;
}

/** common.fault.v3.FaultDelay */
function readDelay(v: ValueReader): FaultDelay | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const which = obj.oneOf(['fixed_delay', 'header_delay'], true);
  let fixedDelayMs: number | null | undefined;
  let headerDelay = false;
  if (which === 'fixed_delay') {
    const f = obj.field('fixed_delay');
    fixedDelayMs = f.duration();
    if (fixedDelayMs !== undefined && fixedDelayMs <= 0) {
      f.problem('must be greater than 0');
      fixedDelayMs = undefined;
    }
  } else if (which === 'header_delay') {
    headerDelay = readMarker(obj.field('header_delay'));
    fixedDelayMs = headerDelay ? null : undefined;
  }
  const percentage = readPercentage(obj);
  obj.done();
  if (fixedDelayMs === undefined || percentage === undefined) return undefined;
  return { fixedDelayMs, headerDelay, percentage };
}

/** http.fault.v3.FaultAbort: http_status (200-599), grpc_status or header_abort. */
function readAbort(v: ValueReader): FaultAbort | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const which = obj.oneOf(['http_status', 'grpc_status', 'header_abort'], true);
  let httpStatus: number | null = null;
  let grpcStatus: number | null = null;
  let headerAbort = false;
  let ok = which !== null && which !== undefined;
  if (which === 'http_status') {
    httpStatus = obj.field('http_status').integer(200, 599) ?? null;
    ok = httpStatus !== null;
  } else if (which === 'grpc_status') {
    grpcStatus = obj.field('grpc_status').integer(0, UINT32_MAX) ?? null;
    ok = grpcStatus !== null;
  } else if (which === 'header_abort') {
    headerAbort = readMarker(obj.field('header_abort'));
    ok = headerAbort;
  }
  const percentage = readPercentage(obj);
  obj.done();
  if (!ok || percentage === undefined) return undefined;
  return { httpStatus, grpcStatus, headerAbort, percentage };
}

/** A typed_config carrying an HTTPFault (the filter's config or a typed_per_filter_config entry). */
export function readFaultConfig(v: ValueReader): FaultConfig | undefined {
  const obj = readTypedConfig(v, FAULT_TYPE_URL);
  return obj === undefined ? undefined : readFaultFields(obj);
}

/** The HTTPFault fields of obj (whose @type the caller has read). */
function readFaultFields(obj: ObjectReader): FaultConfig | undefined {
  const delayField = obj.field('delay');
  const delay = delayField.missing ? null : readDelay(delayField);
  const abortField = obj.field('abort');
  const abort = abortField.missing ? null : readAbort(abortField);
  const headers = obj.field('headers').listOf(readHeaderMatcher);
  const maxField = obj.field('max_active_faults');
  const maxActiveFaults = maxField.integer(0, UINT32_MAX);
  obj.done();
  if (delay === undefined || abort === undefined || headers === undefined || (maxActiveFaults === undefined && !maxField.missing)) return undefined;
  return { delay, abort, headers, maxActiveFaults: maxActiveFaults ?? null };
}
