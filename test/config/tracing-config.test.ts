// http_connection_manager.tracing as the proxy reads it: the Zipkin provider
// with Envoy's defaults, the sampling percentages, custom tags, and what is
// refused by field (another tracer, another collector format, unknown
// fields, a collector cluster that does not exist, out-of-range percents).
import { describe, expect, it } from 'vitest';
import { parseParts, problemLines } from './bootstrap-text.js';

const ZIPKIN = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';

function tracing(zipkin: Record<string, unknown>, rest: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    provider: { name: 'envoy.tracers.zipkin', typed_config: { '@type': ZIPKIN, collector_cluster: 'zipkin', collector_endpoint: '/api/v2/spans', collector_endpoint_version: 'HTTP_JSON', ...zipkin } },
    ...rest,
  };
}

describe('http_connection_manager.tracing', () => {
  it('reads the Zipkin provider and sampling with Envoy\'s defaults', () => {
    const b = parseParts({ tracing: tracing({}), moreClusters: ['zipkin'] });
    expect(b.listeners[0]!.tracing).toEqual({
      zipkin: { collectorCluster: 'zipkin', collectorEndpoint: '/api/v2/spans', collectorHostname: '', traceId128bit: false, sharedSpanContext: true },
      randomSampling: 100, clientSampling: 100, overallSampling: 100, spawnUpstreamSpan: false, maxPathTagLength: 256, customTags: [], inbound: false,
    });
    expect(parseParts({ moreClusters: ['zipkin'] }).listeners[0]!.tracing).toBeUndefined();
  });

  it('reads every supported field', () => {
    const t = parseParts({
      moreClusters: ['zipkin'],
      tracing: tracing({ trace_id_128bit: true, shared_span_context: false, collector_hostname: 'zipkin.istio-system' }, {
        random_sampling: { value: 1.5 }, client_sampling: { value: 50 }, overall_sampling: { value: 0 }, spawn_upstream_span: true, verbose: true,
        max_path_tag_length: 64,
        custom_tags: [{ tag: 'mesh', literal: { value: 'm1' } }, { tag: 'user', request_header: { name: 'End-User', default_value: 'anon' } }],
      }),
    }).listeners[0]!.tracing!;
    expect(t).toMatchObject({ randomSampling: 1.5, clientSampling: 50, overallSampling: 0, spawnUpstreamSpan: true, maxPathTagLength: 64 });
    expect(t.zipkin).toEqual({ collectorCluster: 'zipkin', collectorEndpoint: '/api/v2/spans', collectorHostname: 'zipkin.istio-system', traceId128bit: true, sharedSpanContext: false });
    expect(t.customTags).toEqual([{ tag: 'mesh', kind: 'literal', value: 'm1' }, { tag: 'user', kind: 'request_header', header: 'end-user', defaultValue: 'anon' }]);
  });

  it('refuses another collector format, another tracer, unknown fields and bad values, naming each field', () => {
    const grpc = problemLines({ moreClusters: ['zipkin'], tracing: tracing({ collector_endpoint_version: 'GRPC' }) }).join('\n');
    expect(grpc).toContain('tracing.provider.typed_config.collector_endpoint_version is GRPC; only HTTP_JSON (Zipkin v2 JSON) is supported');
    const missing = problemLines({ moreClusters: ['zipkin'], tracing: tracing({ collector_endpoint_version: undefined }) }).join('\n');
    expect(missing).toContain('collector_endpoint_version must be set to HTTP_JSON');
    const other = problemLines({ tracing: { provider: { name: 'envoy.tracers.datadog', typed_config: { '@type': 'x' } } } }).join('\n');
    expect(other).toContain('tracing.provider.name names "envoy.tracers.datadog"; the supported tracer is envoy.tracers.zipkin');
    const unknown = problemLines({ moreClusters: ['zipkin'], tracing: tracing({ split_spans_for_request: true }, { operation_name: 'EGRESS', random_sampling: { value: 101 } }) }).join('\n');
    expect(unknown).toContain('typed_config.split_spans_for_request is not supported');
    expect(unknown).toContain('tracing.operation_name is not supported');
    expect(unknown).toContain('tracing.random_sampling.value');
    expect(problemLines({ tracing: tracing({}) }).join('\n')).toContain('zipkin');
    expect(problemLines({ moreClusters: ['zipkin'], tracing: tracing({ collector_endpoint: 'api v2' }) }).join('\n')).toContain('collector_endpoint must be a path');
  });

  it('refuses a collector cluster name that would put CR/LF into the report\'s host line when collector_hostname is unset', () => {
    const evil = 'zipkin\r\nx-injected: 1';
    const lines = problemLines({ moreClusters: [evil], tracing: tracing({ collector_cluster: evil }) }).join('\n');
    expect(lines).toContain('collector_cluster');
    expect(lines).toContain('collector_hostname');
    // With a collector_hostname the cluster's name never reaches the report's head.
    expect(parseParts({ moreClusters: [evil], tracing: tracing({ collector_cluster: evil, collector_hostname: 'zipkin' }) }).listeners[0]!.tracing!.zipkin.collectorHostname).toBe('zipkin');
    expect(problemLines({ moreClusters: ['zipkin'], tracing: tracing({ collector_hostname: 'zip\r\nx: 1' }) }).join('\n')).toContain('collector_hostname must be a host name');
  });
});
