// meshConfig.pathNormalization as HCM fields, as Istio's pilot writes them,
// on both of a sidecar's listeners.
import { describe, expect, it } from 'vitest';
import { parseControlOptions, type ControlOptions } from '../../../control/control-command.js';
import { buildInbound, buildOutboundListener } from '../../../control/translate/build-listeners.js';
import { hcmPathNormalization } from '../../../control/translate/hcm-path-normalization.js';
import { createMeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';

type Json = any;

function hcmOf(listener: object): Json {
  return (listener as Json).filter_chains[0].filters[0].typed_config;
}

describe('hcmPathNormalization', () => {
  it("maps Istio's settings as pilot does", () => {
    expect(hcmPathNormalization('DEFAULT')).toEqual({ normalize_path: { value: true }, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' });
    expect(hcmPathNormalization('BASE')).toEqual(hcmPathNormalization('DEFAULT'));
    expect(hcmPathNormalization('NONE')).toEqual({ normalize_path: { value: false }, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' });
    expect(hcmPathNormalization('MERGE_SLASHES')).toEqual({
      normalize_path: { value: true }, merge_slashes: true, path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
    });
    expect(hcmPathNormalization('DECODE_AND_MERGE_SLASHES')).toEqual({
      normalize_path: { value: true }, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD',
    });
  });

  it("puts Istio's default on the outbound and inbound listeners, and the mesh option when set", () => {
    const proxy: ProxyIdentity = { id: 'p', namespace: 'default', labels: {}, appPort: 9000 };
    const service = { ports: [{ number: 9080, protocol: 'HTTP' }] } as Json;
    const config = createMeshConfig([]);
    expect(hcmOf(buildOutboundListener(proxy, config, new Set()))).toMatchObject({ normalize_path: { value: true } });
    expect(hcmOf(buildInbound(proxy, service, config)!.listener)).toMatchObject({ normalize_path: { value: true } });
    const merging = createMeshConfig([], { pathNormalization: 'MERGE_SLASHES' });
    expect(hcmOf(buildOutboundListener(proxy, merging, new Set()))).toMatchObject({ normalize_path: { value: true }, merge_slashes: true });
  });
});

describe('isthmus control --path-normalization', () => {
  it("defaults to Istio's DEFAULT, takes Istio's names and refuses others", () => {
    expect((parseControlOptions([], {}) as ControlOptions).pathNormalization).toBe('DEFAULT');
    expect((parseControlOptions(['--path-normalization', 'MERGE_SLASHES'], {}) as ControlOptions).pathNormalization).toBe('MERGE_SLASHES');
    expect(() => parseControlOptions(['--path-normalization', 'merge'], {})).toThrow(/unknown path normalization 'merge'/);
  });
});
