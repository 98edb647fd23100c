import { describe, expect, it } from 'vitest';
import { readNodeMetadata } from '../../../control/registry/node-metadata.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';

describe('readNodeMetadata', () => {
  it('reads the proxy identity and the workload it announces', () => {
    const result = readNodeMetadata('reviews-v2-1', {
      SERVICE: 'reviews', NAMESPACE: 'default', LABELS: { version: 'v2', team: 'books' },
      INSTANCE_IPS: '127.0.0.1,::1', APP_PORT: 9082, SERVICE_PORT: '9080', INBOUND_PORT: 25006, OUTBOUND_PORT: 25001,
    });
    expect(result.problems).toEqual([]);
    expect(result.proxy).toEqual({
      id: 'reviews-v2-1', namespace: 'default', service: 'reviews', labels: { version: 'v2', team: 'books', app: 'reviews' },
      address: '127.0.0.1', appPort: 9082, outboundPort: 25001, inboundPort: 25006,
    });
    // Peers reach it through its inbound listener.
    expect(result.announcement).toEqual({
      id: 'reviews-v2-1', service: 'reviews', namespace: 'default', labels: { team: 'books', app: 'reviews' }, version: 'v2',
      address: '127.0.0.1', appPort: 25006, servicePort: 9080,
    });
    const registry = new ServiceRegistry();
    registry.register(result.announcement!);
    expect(registry.endpoints('reviews.default.svc.cluster.local').map((e) => [e.labels.version, e.portByServicePort])).toEqual([['v2', { 9080: 25006 }]]);
  });

  it('names every unusable key and announces nothing without a service, address and port', () => {
    const result = readNodeMetadata('n', { SERVICE: 7, LABELS: ['x'], APP_PORT: 'eighty', INSTANCE_IPS: '127.0.0.1' });
    expect(result.problems).toEqual([
      'node metadata SERVICE must be a string of at most 256 characters',
      'node metadata LABELS must be a map of strings',
      'node metadata APP_PORT must be a port (1-65535), got "eighty"',
    ]);
    expect(result.announcement).toBeUndefined();
    expect(result.proxy).toEqual({ id: 'n', namespace: 'default', labels: {}, address: '127.0.0.1' });
  });
  it('bounds the labels a peer announces: count, key and value length, each named', () => {
    const many = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, 'v']));
    const counted = readNodeMetadata('n', { LABELS: many });
    expect(counted.problems).toEqual(['node metadata LABELS has 70 labels; the first 64 are kept']);
    expect(Object.keys(counted.proxy.labels)).toHaveLength(64);
    const long = readNodeMetadata('n', { LABELS: { ['x'.repeat(318)]: 'v', team: 'y'.repeat(257), app: 'ok' } });
    expect(long.problems).toEqual([
      `node metadata LABELS key "${'x'.repeat(32)}"... is longer than 317 characters`,
      'node metadata LABELS.team must be at most 256 characters',
    ]);
    expect(long.proxy.labels).toEqual({ app: 'ok' });
  });
});
