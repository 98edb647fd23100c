// `isthmus proxy --max-connections` and `--transport` (workers/agent/proxy-options.ts).
import { describe, expect, it } from 'vitest';
import { parseProxyOptions } from '../../../workers/agent/proxy-options.js';

function options(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const parsed = parseProxyOptions(['--bootstrap', 'b.yaml', ...argv], env);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.options;
}

describe('isthmus proxy --max-connections', () => {
  it('is 0 (no limit) by default and reads the flag and ISTHMUS_MAX_CONNECTIONS', () => {
    expect(options([]).maxConnections).toBe(0);
    expect(options(['--max-connections', '5000']).maxConnections).toBe(5000);
    expect(options([], { ISTHMUS_MAX_CONNECTIONS: '64' }).maxConnections).toBe(64);
  });

  it('names a bad value', () => {
    expect(() => options(['--max-connections', '-1'])).toThrow('max-connections');
    expect(() => options(['--max-connections', 'many'])).toThrow('max-connections');
  });
});

describe('isthmus proxy --transport', () => {
  it('is native by default and reads the flag and ISTHMUS_TRANSPORT', () => {
    expect(options([]).transport).toBe('native');
    expect(options([], { ISTHMUS_TRANSPORT: 'node' }).transport).toBe('node');
    expect(options(['--transport', 'native']).transport).toBe('native');
    expect(options([], { ISTHMUS_TRANSPORT: 'native' }).transport).toBe('native');
    expect(options(['--transport', 'node'], { ISTHMUS_TRANSPORT: 'native' }).transport).toBe('node');
  });

  it('names a bad value', () => {
    expect(() => options(['--transport', 'uring'])).toThrow(/transport.*expected node or native, got 'uring'/);
  });
});
