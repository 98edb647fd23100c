// `isthmus completion bash|zsh`: a script a shell accepts, completing the
// commands, each command's options and the values of enumerated options.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT } from '../support/isthmus-process.js';

function isthmus(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Sources the bash script, then asks _isthmus to complete each command line (the last word is the one completed). */
function bashComplete(lines: readonly string[][]): string[] {
  const calls = lines.map((words) => `t ${words.map((w) => `'${w}'`).join(' ')}`).join('\n');
  const script = `source <(${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} completion bash)
complete -p isthmus
t() { COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); COMPREPLY=(); _isthmus; echo "\${COMPREPLY[*]}"; }
${calls}`;
  const r = spawnSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').slice(0, lines.length + 1);
}

describe('isthmus completion', () => {
  it('prints a bash script that bash sources and that completes commands, options and option values', () => {
    const [registered, ...answers] = bashComplete([
      ['isthmus', 'pro'],
      ['isthmus', 'proxy', '--log-l'],
      ['isthmus', 'proxy', '--log-level', ''],
      ['isthmus', 'proxy', '--xds-protocol', ''],
      ['isthmus', 'control', '--log-format', 'p'],
      ['isthmus', 'proxy-config', ''],
      ['isthmus', 'apply', '-'],
      ['isthmus', 'completion', ''],
    ]);
    expect(registered).toBe('complete -o default -F _isthmus isthmus');
    expect(answers).toEqual([
      'proxy proxy-status proxy-config',
      '--log-level',
      'fatal error warn info debug trace silent',
      'delta sotw',
      'pretty',
      'clusters endpoints listeners routes secrets',
      '--filename --control --data-dir --token --config --help -f -h',
      'bash zsh',
    ]);
  });

  it('prints a zsh script with _arguments for every command', () => {
    const r = isthmus(['completion', 'zsh']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('#compdef isthmus\n')).toBe(true);
    for (const command of ['proxy', 'control', 'apply', 'proxy-status', 'proxy-config', 'analyze', 'completion']) {
      expect(r.stdout).toMatch(new RegExp(`^ {4}'${command}:`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^ {4}${command}\\)\\n {6}_arguments -s`, 'm'));
    }
    expect(r.stdout).toContain("'--log-level=[fatal, error, warn, info, debug, trace or silent]:LEVEL:(fatal error warn info debug trace silent)'");
    expect(r.stdout).toContain("'--bootstrap=[Envoy v3 bootstrap]:FILE:_files'");
  });

  it('names the shells it knows', () => {
    const r = isthmus(['completion', 'fish']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("isthmus completion: expected bash or zsh, got 'fish'\n");
  });

  it('has a --help like every command (and `isthmus help completion` shows it)', () => {
    for (const args of [['completion', '--help'], ['completion', '-h'], ['help', 'completion']]) {
      const r = isthmus(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: isthmus completion bash\|zsh\n/);
      expect(r.stdout).toContain('source <(isthmus completion bash)');
    }
  });
});
