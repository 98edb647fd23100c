// How the bench and the demo start `isthmus proxy`: with the node flags of the bin
// script's `#!` line, so their memory figures are the installed command's.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { binNodeFlags, isthmusCommand } from '../../src/process/proxy-process.js';

const BIN = fileURLToPath(new URL('../../bin/isthmus.js', import.meta.url));

describe('the proxy command line', () => {
  it("carries the bin script's V8 memory flags: small young generation, no baseline code, size-optimized heap", () => {
    const { command, args } = isthmusCommand(['proxy', '--help']);
    expect(command).toBe(process.execPath);
    expect(args.slice(0, 4)).toEqual(['--max-semi-space-size=1', '--no-sparkplug', '--optimize-for-size', '--expose-gc']);
    expect(args.slice(4)).toEqual([BIN, 'proxy', '--help']);
    // The flags are ones this node accepts: the command runs.
    expect(execFileSync(command, [...args.slice(0, 4), BIN, 'version'], { encoding: 'utf8' })).toMatch(/^isthmus /);
  });

  it('reads only `#!/usr/bin/env -S node ...` lines: none from any other first line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bin-flags-'));
    try {
      const file = join(dir, 'x.js');
      writeFileSync(file, '#!/usr/bin/env node\nconsole.log(1);\n');
      expect(binNodeFlags(file)).toEqual([]);
      writeFileSync(file, '#!/usr/bin/env -S node --a=1 --b\n');
      expect(binNodeFlags(file)).toEqual(['--a=1', '--b']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
