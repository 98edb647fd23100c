// The xDS node a sidecar announces (src/xds/xds-node.ts), read back by the
// control plane's own reader (control/registry/node-metadata.ts).
import { describe, expect, it } from 'vitest';
import { readNodeMetadata } from '../../control/registry/node-metadata.js';
import { buildNode, type StructMessage } from '../../src/xds/xds-node.js';

/** The Struct as plain JSON, as the control plane sees it after decoding. */
function plain(struct: StructMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct.fields)) out[key] = 'stringValue' in value ? value.stringValue : plain(value.structValue);
  return out;
}

const BASE = { service: 'reviews', namespace: 'default', version: 'v2', labels: {}, address: '127.0.0.1', appPort: 9082 };

describe('buildNode', () => {
  it('announces the service port, both listener ports and the service account', () => {
    const node = buildNode({ ...BASE, servicePort: 9080, outboundPort: 25001, inboundPort: 25006, serviceAccount: 'bookinfo-reviews' }, 42);
    const read = readNodeMetadata(node.id, plain(node.metadata));
    expect(read.problems).toEqual([]);
    expect(read.proxy).toMatchObject({ service: 'reviews', outboundPort: 25001, inboundPort: 25006, appPort: 9082 });
    // Peers reach it through its inbound listener; the service it implies is on the service port.
    expect(read.announcement).toMatchObject({ appPort: 25006, servicePort: 9080, serviceAccount: 'bookinfo-reviews', version: 'v2' });
  });

  it('leaves out ports that are not given', () => {
    const fields = buildNode({ ...BASE, appPort: 0 }, 1).metadata.fields;
    expect(Object.keys(fields).filter((k) => k.endsWith('PORT') || k === 'SERVICE_ACCOUNT')).toEqual([]);
  });

  it('refuses an INSTANCE_IPS that is not an IP and a port out of range', () => {
    expect(() => buildNode({ ...BASE, address: 'reviews.local' })).toThrow("INSTANCE_IPS must be an IP address, got 'reviews.local'");
    expect(() => buildNode({ ...BASE, inboundPort: 70000 })).toThrow('INBOUND_PORT must be a port (1-65535), got 70000');
  });
});
