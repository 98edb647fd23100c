// The CLI as a user runs it: `node bin/isthmus.js ...` over the compiled
// dist/ (npm test builds it first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'isthmus.js');
const dir = mkdtempSync(join(tmpdir(), 'isthmus-cli-'));

function isthmus(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  expect(existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js')), 'run `npx tsc -p .` first').toBe(true);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('isthmus CLI', () => {
  it('prints its version', () => {
    const r = isthmus(['version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^isthmus \d+\.\d+\.\d+\n$/);
  });

  it('lists the commands on help', () => {
    const r = isthmus(['help']);
    expect(r.code).toBe(0);
    for (const c of ['proxy', 'up', 'bench', 'version']) expect(r.stdout).toContain(`  ${c}`);
  });

  it('rejects an unknown command', () => {
    const r = isthmus(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });

  it('suggests the command meant for a mistyped one', () => {
    const r = isthmus(['prxy-status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("isthmus: unknown command 'prxy-status'; did you mean 'proxy-status'?\nRun `isthmus help` for every command.\n");
  });

  it('prints the proxy options on proxy --help', () => {
    const r = isthmus(['proxy', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--bootstrap FILE', '--workers N|auto', '--admin-port', '--admin-address', '--data-dir', '--drain-timeout', '--access-log']) {
      expect(r.stdout).toContain(flag);
    }
    expect(isthmus(['help', 'proxy']).stdout).toBe(r.stdout);
  });

  it('rejects an unknown proxy flag by name', () => {
    const r = isthmus(['proxy', '--bootstrap', 'x.yaml', '--wrokers', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown option --wrokers');
    // Said once, with the option meant.
    expect(r.stderr).toBe("isthmus proxy: unknown option --wrokers for 'isthmus proxy'; did you mean --workers?\n");
    expect(r.stdout).toBe('');
  });

  it('requires --bootstrap', () => {
    const r = isthmus(['proxy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--bootstrap FILE is required');
  });

  it('names a bad option value from the environment', () => {
    const r = isthmus(['proxy', '--bootstrap', 'x.yaml'], { ISTHMUS_WORKERS: 'many' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ISTHMUS_WORKERS');
  });

  it('refuses an invalid bootstrap at startup, printing every problem, and exits 1', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'static_resources:',
        '  listeners: []',
        '  clusters:',
        '  - name: a',
        '    type: STATIC',
        '    lrs_server: {}',
        '    bogus_field: 1',
        '',
      ].join('\n'),
    );
    const r = isthmus(['proxy', '--bootstrap', file, '--admin-port', '0', '--data-dir', join(dir, 'data')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('lrs_server');
    expect(r.stderr).toContain('bogus_field');
    expect(r.stderr).toMatch(/bad\.yaml:6/);
  });

  it('reads proxy options from a --config file and rejects unknown keys there', () => {
    const cfg = join(dir, 'proxy-options.yaml');
    writeFileSync(cfg, 'bootstrap: x.yaml\nwrokers: 2\n');
    const r = isthmus(['proxy', '--config', cfg]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${cfg}: unknown option 'wrokers' for 'isthmus proxy'; did you mean 'workers'?`);
  });

  it('takes --bootstrap from ISTHMUS_BOOTSTRAP', () => {
    const r = isthmus(['proxy', '--admin-port', '0', '--data-dir', join(dir, 'data-env')], { ISTHMUS_BOOTSTRAP: join(dir, 'missing.yaml') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('missing.yaml: cannot read the file: ENOENT');
  });
});
