// docs/cli.md covers the CLI as it is: every command `isthmus --help` lists
// has a section, and every option its `--help` prints is named in that
// section, so a new option cannot ship undocumented.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, cleanEnv } from '../support/isthmus-process.js';

function help(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: cleanEnv(), timeout: 30_000 });
  expect(r.status, `isthmus ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The commands under "Commands:" in `isthmus --help`. */
function commands(): string[] {
  const text = help(['--help']);
  const block = text.slice(text.indexOf('Commands:')).split('\n\n')[0]!;
  return block.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[0]!).filter((c) => c !== '');
}

/** The `## isthmus NAME...` section of docs/cli.md that covers `command`. */
function section(doc: string, command: string): string | undefined {
  const parts = doc.split(/^## /m);
  return parts.find((p) => new RegExp(`^isthmus ([\\w-]+ and )?${command}\\b`).test(p) || new RegExp(`^isthmus [\\w-]+ and ${command}\\b`).test(p));
}

describe('running isthmus from a clone, as the README says', () => {
  it('`npx isthmus` runs this checkout\'s CLI (never a package from the registry: --no)', () => {
    // --ignore-scripts: on a fresh npx cache npx links the checkout into it and would run its `prepare` and `install` scripts
    // (tsc, node-gyp rebuild: ~45 s, rebuilding build/ under the other test files); the checkout is built already, and which
    // CLI npx resolves is the same either way.
    const r = spawnSync('npx', ['--no', '--ignore-scripts', 'isthmus', 'version'], { cwd: ROOT, encoding: 'utf8', env: cleanEnv(), timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^isthmus \d+\.\d+\.\d+/);
  }, 90_000);
});

describe('docs/cli.md', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');

  it('has a section for every command and names every option each --help prints', () => {
    const missing: string[] = [];
    const list = commands();
    expect(list).toContain('proxy');
    for (const command of list) {
      const text = section(doc, command);
      if (text === undefined) {
        missing.push(`no "## isthmus ${command}" section`);
        continue;
      }
      if (command === 'version' || command === 'help') continue;
      for (const m of help([command, '--help']).matchAll(/^\s+(?:-\w, )?(--[\w-]+)/gm)) {
        if (m[1] !== '--help' && !text.includes(`\`${m[1]}`) && !text.includes(`, ${m[1]}`)) missing.push(`isthmus ${command} ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  }, 60_000);
});
