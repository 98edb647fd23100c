// The --control options of `isthmus proxy` (parsed by workers/agent/proxy-options.ts).
import { describe, expect, it } from 'vitest';
import { parseProxyOptions } from '../../workers/agent/proxy-options.js';

function control(argv: string[]) {
  const parsed = parseProxyOptions(argv, {});
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.options;
}

describe('isthmus proxy --control', () => {
  it('needs no --bootstrap, defaults to delta and 127.0.0.1, and collects repeated --label', () => {
    const options = control(['--control', '127.0.0.1:15010', '--service', 'reviews', '--version', 'v2', '--label', 'team=books', '--label=tier=web', '--app-port', '9080']);
    expect(options.bootstrap).toBeUndefined();
    expect(options.control).toEqual({
      target: '127.0.0.1:15010', protocol: 'delta', version: 'v2', labels: { team: 'books', tier: 'web' }, workloadAddress: '127.0.0.1', appPort: 9080,
    });
    expect(control(['--bootstrap', 'b.yaml', '--control', '[::1]:15010', '--service', 's', '--xds-protocol', 'sotw']).control?.protocol).toBe('sotw');
    expect(control(['--bootstrap', 'b.yaml']).control).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(() => control([])).toThrow('--bootstrap FILE is required, or --control HOST:PORT');
    expect(() => control(['--control', '127.0.0.1:15010'])).toThrow('--control needs --service NAME');
    expect(() => control(['--control', 'localhost', '--service', 's'])).toThrow("--control: expected HOST:PORT (e.g. 127.0.0.1:15010), got 'localhost'");
    expect(() => control(['--control', '127.0.0.1:1', '--service', 's', '--label', 'novalue'])).toThrow("--label: expected K=V with a label name as K, got 'novalue'");
    expect(() => control(['--control', '127.0.0.1:1', '--service', 's', '--xds-protocol', 'rest'])).toThrow("expected delta or sotw, got 'rest'");
  });
});
