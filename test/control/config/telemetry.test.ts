// Istio's Telemetry resource, its tracing sampling only and mesh-wide: read
// and checked like the other kinds (unsupported fields refused by name), and
// in the root namespace it sets the sidecars' sampling over
// --tracing-sampling, or turns tracing on without it; elsewhere it is not
// applied.
import { describe, expect, it } from 'vitest';
import { readResources } from '../../../control/config/parse-resources.js';
import { formatProblem } from '../../../src/config/config-error.js';
import { createMeshConfig } from '../../../control/translate/mesh-config.js';
import { hcmTracing } from '../../../control/translate/tracing-mesh.js';

const telemetry = (ns: string, body: string, apiVersion = 'telemetry.istio.io/v1') => `apiVersion: ${apiVersion}
kind: Telemetry
metadata: {name: mesh-default, namespace: ${ns}}
spec:
${body}`;

describe('Telemetry', () => {
  it('reads tracing randomSamplingPercentage (v1 and v1alpha1) and refuses what is not supported, by field', () => {
    const ok = readResources(telemetry('istio-system', '  tracing:\n  - randomSamplingPercentage: 2.5\n', 'telemetry.istio.io/v1alpha1'), 't.yaml');
    expect(ok.problems).toEqual([]);
    expect(ok.resources[0]).toMatchObject({ kind: 'Telemetry', spec: { tracing: [{ randomSamplingPercentage: 2.5 }] } });
    const bad = readResources(telemetry('istio-system', '  selector: {matchLabels: {app: a}}\n  tracing:\n  - randomSamplingPercentage: 101\n    providers: [{name: zipkin}]\n  metrics: []\n'), 't.yaml');
    const text = bad.problems.map(formatProblem).join('\n');
    expect(bad.resources).toEqual([]);
    expect(text).toContain('spec.tracing[0].randomSamplingPercentage must be between 0 and 100');
    expect(text).toContain('spec.tracing[0].providers is not supported');
    expect(text).toContain('spec.selector is not supported');
    expect(text).toContain('spec.metrics is not supported');
    expect(readResources(telemetry('istio-system', '  tracing: []\n', 'networking.istio.io/v1'), 't.yaml').problems.map(formatProblem).join('\n'))
      .toContain('does not serve Telemetry (telemetry.istio.io/v1alpha1 or /v1)');
  });

  it('in the root namespace sets the mesh sampling over the flag, or turns tracing on; elsewhere it is not applied', () => {
    const collector = { host: '127.0.0.1', port: 9411 };
    const root = readResources(telemetry('istio-system', '  tracing:\n  - randomSamplingPercentage: 7\n'), 't.yaml').resources;
    const other = readResources(telemetry('default', '  tracing:\n  - randomSamplingPercentage: 7\n'), 't.yaml').resources;
    const flag = { samplingPercent: 50, collector };
    expect(createMeshConfig(root, { tracing: flag, tracingCollector: collector }).tracing).toEqual({ samplingPercent: 7, collector });
    expect(createMeshConfig(root, { tracing: null, tracingCollector: collector }).tracing).toEqual({ samplingPercent: 7, collector });
    expect(createMeshConfig(other, { tracing: flag, tracingCollector: collector }).tracing).toEqual(flag);
    expect(createMeshConfig(other, { tracing: null, tracingCollector: collector }).tracing).toBeNull();
    // No percentage: the flag's, else Istio's default of 1%.
    const bare = readResources(telemetry('istio-system', '  tracing:\n  - {}\n'), 't.yaml').resources;
    expect(createMeshConfig(bare, { tracing: null, tracingCollector: collector }).tracing?.samplingPercent).toBe(1);
    expect(createMeshConfig(bare, { tracing: flag, tracingCollector: collector }).tracing?.samplingPercent).toBe(50);
    expect(hcmTracing(createMeshConfig(root, { tracing: null, tracingCollector: collector }).tracing)).toMatchObject({ tracing: { random_sampling: { value: 7 } } });
  });
});
