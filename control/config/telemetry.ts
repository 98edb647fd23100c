// Telemetry spec (telemetry.istio.io v1/v1alpha1), the tracing part only and
// mesh-wide only: `tracing: [{ randomSamplingPercentage }]` in the root
// namespace overrides `isthmus control --tracing-sampling` (and turns tracing
// on without it, reporting to the control plane's admin port or
// --tracing-zipkin). selector, targetRef(s), metrics, accessLogging and the
// other tracing fields are refused by name.
import type { ValueReader } from '../../src/config/yaml-reader.js';
import { markLine, type SpecContext } from './istio-fields.js';
import type { TelemetrySpec } from './istio-types.js';

export function readTelemetrySpec(v: ValueReader, cx: SpecContext): TelemetrySpec | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  let ok = true;
  const tracingField = obj.field('tracing');
  markLine(cx, tracingField);
  const items = tracingField.list();
  if (items.length > 1) {
    tracingField.problem('may hold one entry (per-provider tracing settings are not supported)');
    ok = false;
  }
  let randomSamplingPercentage: number | undefined;
  for (const item of items) {
    const t = item.object();
    if (t === undefined) {
      ok = false;
      continue;
    }
    const pct = t.field('randomSamplingPercentage');
    if (!pct.missing) {
      randomSamplingPercentage = pct.number(0, 100);
      if (randomSamplingPercentage === undefined) ok = false;
    }
    t.done();
  }
  obj.done();
  if (!ok) return undefined;
  return randomSamplingPercentage === undefined ? { tracing: [{}] } : { tracing: [{ randomSamplingPercentage }] };
}
