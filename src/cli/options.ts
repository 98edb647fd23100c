// Command-line options for every subcommand. Each option can come from the
// command line (`--flag value` or `--flag=value`), an ISTHMUS_<UPPER_SNAKE>
// environment variable, or a YAML file given with `--config FILE`; the first
// of those that sets it wins, then the declared default.
import { closestName } from '../did-you-mean.js';
import { isLogFormat, isLogLevel } from '../log-levels.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from './duration.js';

/** 'list': a repeatable string option (`--x a --x b`; comma-separated in a variable; a YAML list or comma-separated in the file). */
export type OptionType = 'string' | 'integer' | 'boolean' | 'duration' | 'list';
export type OptionValue = string | number | boolean | readonly string[];

export interface OptionSpec {
  /** kebab-case flag name without dashes, e.g. 'admin-port'. */
  readonly name: string;
  readonly type: OptionType;
  readonly description: string;
  /** Placeholder in help output, e.g. 'N'. */
  readonly valueName?: string;
  /** Durations as a string ('5s'); parsed like a value from any source. */
  readonly default?: OptionValue;
  /** Extra check on the parsed value; return an error message or undefined. */
  readonly validate?: (value: OptionValue) => string | undefined;
}

export interface CommandSpec {
  /** 'proxy', 'bench', ... */
  readonly name: string;
  readonly summary: string;
  /** Text after the command name in the usage line, e.g. '--bootstrap FILE [options]'. */
  readonly usage: string;
  readonly options: readonly OptionSpec[];
  /** Whether bare arguments are accepted (returned in `positionals`). */
  readonly positionals?: boolean;
}

/** A validate function for an integer option in [min, max]. */
export function intBetween(min: number, max: number): (v: OptionValue) => string | undefined {
  return (v) => (typeof v === 'number' && v >= min && v <= max ? undefined : `must be between ${min} and ${max}, got ${String(v)}`);
}

/** `--log-level`, the same for every long-running command. */
export const LOG_LEVEL_OPTION: OptionSpec = {
  name: 'log-level', type: 'string', valueName: 'LEVEL', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent',
  validate: (v) => (isLogLevel(String(v)) ? undefined : `unknown log level '${String(v)}'`),
};

/** `--log-format`, the same for every long-running command. */
export const LOG_FORMAT_OPTION: OptionSpec = {
  name: 'log-format', type: 'string', valueName: 'auto|json|pretty', default: 'auto',
  description: 'log lines as JSON, or human-readable and coloured (auto: pretty when stdout is a terminal)',
  validate: (v) => (isLogFormat(String(v)) ? undefined : `expected auto, json or pretty, got '${String(v)}'`),
};

export type OptionSource = 'flag' | 'env' | 'file' | 'default';

export interface ParsedOptions {
  readonly values: Readonly<Record<string, OptionValue | undefined>>;
  /** Where each set value came from (for error messages and debugging). */
  readonly sources: Readonly<Record<string, OptionSource>>;
  readonly positionals: readonly string[];
  /** true when --help/-h was given: print helpText(spec) and stop. */
  readonly help: boolean;
}

/** Bad options: the message names the flag, variable or file key that was wrong. */
export class OptionsError extends Error {
  override readonly name = 'OptionsError';
}

const CONFIG_OPTION = 'config';

/** 'admin-port' -> 'ISTHMUS_ADMIN_PORT' */
export function envVarName(option: string): string {
  return `ISTHMUS_${option.replace(/-/g, '_').toUpperCase()}`;
}

/** 'admin-port' -> 'adminPort' (also accepted as a config-file key). */
function camelCase(option: string): string {
  return option.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export function parseCommandOptions(
  spec: CommandSpec,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedOptions {
  const parseOptions: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
    [CONFIG_OPTION]: { type: 'string' },
  };
  for (const option of spec.options) {
    parseOptions[option.name] = option.type === 'list' ? { type: 'string', multiple: true } : { type: option.type === 'boolean' ? 'boolean' : 'string' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: parseOptions,
      strict: true,
      allowPositionals: spec.positionals === true,
    });
  } catch (err) {
    throw new OptionsError(describeParseArgsError(spec, err));
  }
  const flags = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (flags.help === true) {
    return { values: {}, sources: {}, positionals: parsed.positionals, help: true };
  }

  const configPath = (flags[CONFIG_OPTION] as string | undefined) ?? env[envVarName(CONFIG_OPTION)];
  const fileValues = configPath === undefined ? {} : readConfigFile(spec, configPath);

  const values: Record<string, OptionValue | undefined> = {};
  const sources: Record<string, OptionSource> = {};
  for (const option of spec.options) {
    const flag = flags[option.name];
    const envName = envVarName(option.name);
    const envValue = env[envName];
    let raw: unknown;
    let source: OptionSource;
    let where: string;
    if (flag !== undefined) {
      [raw, source, where] = [flag, 'flag', `--${option.name}`];
    } else if (envValue !== undefined && envValue !== '') {
      [raw, source, where] = [envValue, 'env', `environment variable ${envName}`];
    } else if (option.name in fileValues) {
      [raw, source, where] = [fileValues[option.name], 'file', `${configPath}: ${option.name}`];
    } else if (option.default !== undefined) {
      [raw, source, where] = [option.default, 'default', `default of --${option.name}`];
    } else {
      continue;
    }
    const value = convertValue(option, raw, where);
    const problem = option.validate?.(value);
    if (problem !== undefined) throw new OptionsError(`${where}: ${problem}`);
    values[option.name] = value;
    sources[option.name] = source;
  }
  return { values, sources, positionals: parsed.positionals, help: false };
}

function describeParseArgsError(spec: CommandSpec, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown !== null) {
    const typed = unknown[1]!.replace(/^-+/, '').replace(/=.*$/, '');
    const meant = closestName(typed, [...spec.options.map((o) => o.name), 'help', CONFIG_OPTION]);
    if (meant !== undefined) return `unknown option ${unknown[1]} for 'isthmus ${spec.name}'; did you mean --${meant}?`;
    return `unknown option ${unknown[1]} for 'isthmus ${spec.name}' (see --help)`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']+)'/.exec(message);
    return `unexpected argument ${arg?.[1] ?? ''} for 'isthmus ${spec.name}' (see --help)`.replace('  ', ' ');
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const opt = /Option '([^']+)'/.exec(message);
    return `${opt?.[1]?.replace(/^-\w, /, '') ?? 'an option'} needs a value`;
  }
  return message;
}

function readConfigFile(spec: CommandSpec, path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OptionsError(`--config ${path}: cannot read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new OptionsError(`--config ${path}: not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new OptionsError(`--config ${path}: expected a mapping of option names to values`);
  }
  const known = new Map<string, string>();
  for (const option of spec.options) {
    known.set(option.name, option.name);
    known.set(camelCase(option.name), option.name);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const name = known.get(key);
    if (name === undefined) {
      const meant = closestName(key, spec.options.map((o) => o.name));
      throw new OptionsError(`--config ${path}: unknown option '${key}' for 'isthmus ${spec.name}'${meant === undefined ? '' : `; did you mean '${meant}'?`}`);
    }
    out[name] = value;
  }
  return out;
}

function convertValue(option: OptionSpec, raw: unknown, where: string): OptionValue {
  switch (option.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === 'yes') return true;
      if (raw === 'false' || raw === '0' || raw === 'no') return false;
      throw new OptionsError(`${where}: expected true or false, got '${String(raw)}'`);
    case 'integer': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n)) throw new OptionsError(`${where}: expected an integer, got '${String(raw)}'`);
      return n;
    }
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === undefined) {
        throw new OptionsError(`${where}: expected a duration like 5s, 500ms or 1m, got '${String(raw)}'`);
      }
      return ms;
    }
    case 'string':
      if (typeof raw === 'string' || typeof raw === 'number') return String(raw);
      throw new OptionsError(`${where}: expected a string, got ${JSON.stringify(raw)}`);
    case 'list': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : null;
      if (items === null || !items.every((x) => typeof x === 'string' || typeof x === 'number')) {
        throw new OptionsError(`${where}: expected a list of strings, got ${JSON.stringify(raw)}`);
      }
      return Object.freeze(items.map((x) => String(x).trim()).filter((x) => x !== ''));
    }
  }
}

/** The text `isthmus <command> --help` prints. */
export function helpText(spec: CommandSpec): string {
  const rows: [string, string][] = spec.options.map((o) => {
    const flag = o.type === 'boolean' ? `--${o.name}` : `--${o.name} ${o.valueName ?? o.type.toUpperCase()}`;
    const def = o.default === undefined ? '' : ` (default: ${String(o.default)})`;
    const repeat = o.type === 'list' ? ' (repeatable; comma-separated in a variable)' : '';
    return [flag, `${o.description}${repeat}${def}`];
  });
  rows.push(['--config FILE', 'read options from a YAML file (keys are option names)']);
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  const lines = rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`);
  return [
    `Usage: isthmus ${spec.name} ${spec.usage}`,
    '',
    spec.summary,
    '',
    'Options:',
    ...lines,
    '',
    'Every option can also be set by an ISTHMUS_<NAME> environment variable (e.g. ' +
      `${envVarName(spec.options[0]?.name ?? 'log-level')}) or in the --config file; ` +
      'precedence: flag > environment > file > default.',
    '',
  ].join('\n');
}
