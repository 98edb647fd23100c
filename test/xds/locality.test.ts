import { describe, expect, it } from 'vitest';
import { parseLocality } from '../../src/xds/locality.js';

describe('parseLocality (Istio region/zone/subzone)', () => {
  it('reads one to three parts, the missing ones empty', () => {
    expect(parseLocality('us-east1')).toEqual({ region: 'us-east1', zone: '', subZone: '' });
    expect(parseLocality('us-east1/us-east1-b')).toEqual({ region: 'us-east1', zone: 'us-east1-b', subZone: '' });
    expect(parseLocality('eu/z_1/rack.7')).toEqual({ region: 'eu', zone: 'z_1', subZone: 'rack.7' });
  });

  it('refuses more parts, empty parts and other characters', () => {
    for (const bad of ['a/b/c/d', 'a//c', '/a', 'us east', 'a/b/', '-a']) expect(parseLocality(bad), bad).toBeNull();
  });
});
