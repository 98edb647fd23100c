import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envVarName, helpText, OptionsError, parseCommandOptions, type CommandSpec } from '../../src/cli/options.js';
import { parseDuration } from '../../src/cli/duration.js';

const SPEC: CommandSpec = {
  name: 'demo',
  usage: '[options]',
  summary: 'A command for tests.',
  options: [
    { name: 'admin-port', type: 'integer', default: 15000, description: 'admin port' },
    { name: 'log-level', type: 'string', default: 'info', description: 'level' },
    { name: 'drain-timeout', type: 'duration', default: '5s', description: 'drain' },
    { name: 'verbose', type: 'boolean', default: false, description: 'more output' },
    { name: 'service', type: 'string', description: 'name' },
  ],
};

const dir = mkdtempSync(join(tmpdir(), 'isthmus-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function configFile(text: string): string {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, text);
  return path;
}

describe('parseCommandOptions', () => {
  it('uses defaults when nothing is given', () => {
    const p = parseCommandOptions(SPEC, [], {});
    expect(p.values).toEqual({ 'admin-port': 15000, 'log-level': 'info', 'drain-timeout': 5000, verbose: false });
    expect(p.sources['admin-port']).toBe('default');
    expect(p.help).toBe(false);
  });

  it('accepts --flag value and --flag=value', () => {
    const p = parseCommandOptions(SPEC, ['--admin-port', '9901', '--log-level=debug', '--drain-timeout=250ms', '--verbose'], {});
    expect(p.values).toMatchObject({ 'admin-port': 9901, 'log-level': 'debug', 'drain-timeout': 250, verbose: true });
  });

  it('takes flag over env over file over default', () => {
    const file = configFile('admin-port: 1111\nlogLevel: warn\nservice: from-file\ndrain-timeout: 2s\n');
    const env = { ISTHMUS_ADMIN_PORT: '2222', ISTHMUS_LOG_LEVEL: 'error' };
    const p = parseCommandOptions(SPEC, ['--config', file, '--admin-port', '3333'], env);
    expect(p.values).toMatchObject({ 'admin-port': 3333, 'log-level': 'error', service: 'from-file', 'drain-timeout': 2000, verbose: false });
    expect(p.sources).toMatchObject({ 'admin-port': 'flag', 'log-level': 'env', service: 'file', 'drain-timeout': 'file', verbose: 'default' });
  });

  it('reads the config file path from ISTHMUS_CONFIG too', () => {
    const file = configFile('service: env-file\n');
    expect(parseCommandOptions(SPEC, [], { ISTHMUS_CONFIG: file }).values.service).toBe('env-file');
  });

  it('rejects an unknown flag, naming it', () => {
    expect(() => parseCommandOptions(SPEC, ['--admin-prot', '1'], {})).toThrow(OptionsError);
    expect(() => parseCommandOptions(SPEC, ['--admin-prot', '1'], {})).toThrow(/unknown option --admin-prot/);
  });

  it('rejects a stray positional argument', () => {
    expect(() => parseCommandOptions(SPEC, ['extra'], {})).toThrow(/unexpected argument extra/);
  });

  it('rejects an unknown key in the config file, naming file and key', () => {
    const file = configFile('admin-port: 1\nworkerz: 3\n');
    expect(() => parseCommandOptions(SPEC, ['--config', file], {})).toThrow(new RegExp(`${file}: unknown option 'workerz'`));
  });

  it('names the source of a malformed value', () => {
    expect(() => parseCommandOptions(SPEC, ['--admin-port', 'abc'], {})).toThrow(/--admin-port: expected an integer, got 'abc'/);
    expect(() => parseCommandOptions(SPEC, [], { ISTHMUS_DRAIN_TIMEOUT: 'soon' })).toThrow(/ISTHMUS_DRAIN_TIMEOUT: expected a duration/);
    const file = configFile('verbose: maybe\n');
    expect(() => parseCommandOptions(SPEC, ['--config', file], {})).toThrow(/verbose: expected true or false/);
    expect(() => parseCommandOptions(SPEC, ['--config', join(dir, 'missing.yaml')], {})).toThrow(/cannot read/);
  });

  it('collects a repeatable list option from flags, a comma-separated variable or a YAML list', () => {
    const spec: CommandSpec = { ...SPEC, options: [{ name: 'allowed-host', type: 'list', description: 'names' }] };
    expect(parseCommandOptions(spec, ['--allowed-host', 'a.local', '--allowed-host=b.local'], {}).values['allowed-host']).toEqual(['a.local', 'b.local']);
    expect(parseCommandOptions(spec, [], { ISTHMUS_ALLOWED_HOST: 'a.local, b.local' }).values['allowed-host']).toEqual(['a.local', 'b.local']);
    const file = configFile('allowedHost: [a.local, b.local]\n');
    expect(parseCommandOptions(spec, ['--config', file], {}).values['allowed-host']).toEqual(['a.local', 'b.local']);
    expect(() => parseCommandOptions(spec, ['--config', configFile('allowed-host: {a: 1}\n')], {})).toThrow(/allowed-host: expected a list of strings/);
    expect(helpText(spec)).toContain('(repeatable');
  });

  it('runs validators on every source', () => {
    const spec: CommandSpec = {
      ...SPEC,
      options: [{ name: 'workers', type: 'integer', default: 1, description: 'n', validate: (v) => (Number(v) >= 1 ? undefined : 'must be at least 1') }],
    };
    expect(() => parseCommandOptions(spec, [], { ISTHMUS_WORKERS: '0' })).toThrow(/ISTHMUS_WORKERS: must be at least 1/);
  });

  it('reports --help without validating the rest', () => {
    expect(parseCommandOptions(SPEC, ['--help', '--admin-port', 'x'], {}).help).toBe(true);
    expect(parseCommandOptions(SPEC, ['-h'], {}).help).toBe(true);
  });
});

describe('helpText', () => {
  it('lists every option with its default and the env/file rules', () => {
    const text = helpText(SPEC);
    expect(text).toContain('Usage: isthmus demo [options]');
    for (const o of SPEC.options) expect(text).toContain(`--${o.name}`);
    expect(text).toContain('(default: 15000)');
    expect(text).toContain('--config FILE');
    expect(text).toContain('ISTHMUS_ADMIN_PORT');
  });
});

describe('envVarName and parseDuration', () => {
  it('maps kebab-case to ISTHMUS_UPPER_SNAKE', () => {
    expect(envVarName('max-head-bytes')).toBe('ISTHMUS_MAX_HEAD_BYTES');
  });
  it('parses durations', () => {
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2m')).toBe(120000);
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration(42)).toBe(42);
    expect(parseDuration('5 parsecs')).toBeUndefined();
    expect(parseDuration(-1)).toBeUndefined();
  });
});
