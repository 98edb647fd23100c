// `isthmus <command>`: picks the command and loads only that role's module
// (a sidecar must not pay for the bench's or the demo's modules), by dynamic
// import so src/ keeps no static dependency on workers/ or examples/.
import { readFileSync } from 'node:fs';
import { closestName } from '../did-you-mean.js';
import type { CompletionCommand } from './completion.js';
import { exitWithParent } from './exit-with-parent.js';
import { OptionsError, type CommandSpec } from './options.js';

interface CommandModule {
  run(argv: string[]): Promise<number | void> | number | void;
}

interface CommandEntry {
  readonly summary: string;
  /** Path relative to this file (same layout under dist/). */
  readonly module: string;
  /** Where its CommandSpec is exported (module relative to this file, export name), for `isthmus completion`. */
  readonly spec: readonly [module: string, name: string];
  /** Completion words for its bare arguments (files otherwise). */
  readonly words?: readonly string[];
  readonly shortFlags?: readonly string[];
}

const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  proxy: {
    summary: 'run the sidecar proxy from an Envoy v3 bootstrap file', module: '../../workers/agent/proxy-command.js',
    spec: ['../../workers/agent/proxy-options.js', 'PROXY_COMMAND'],
  },
  up: { summary: 'run the demo mesh on loopback (what `npm start` runs)', module: '../../examples/up/up-command.js', spec: ['../../examples/up/up-options.js', 'UP_SPEC'] },
  bench: { summary: 'run the benchmark suite', module: '../../bench/main.js', spec: ['../../bench/bench-options.js', 'BENCH_SPEC'] },
  analyze: {
    summary: 'check a folder of Istio-shaped config and print every problem', module: '../../control/config/analyze-command.js',
    spec: ['../../control/config/analyze-command.js', 'ANALYZE_COMMAND'],
  },
  control: {
    summary: 'run the control plane (config store from a watched folder and `isthmus apply`, admin API)', module: '../../control/control-command.js',
    spec: ['../../control/control-command.js', 'CONTROL_COMMAND'],
  },
  apply: {
    summary: 'send resources to a running control plane (-f FILE)', module: '../../control/apply-command.js',
    spec: ['../../control/apply-command.js', 'APPLY_COMMAND'], shortFlags: ['-f'],
  },
  delete: {
    summary: 'delete applied resources from a running control plane (-f FILE)', module: '../../control/delete-command.js',
    spec: ['../../control/apply-command.js', 'DELETE_COMMAND'], shortFlags: ['-f'],
  },
  agent: {
    summary: 'keep a workload certificate in a folder for a proxyless gRPC app (cert-chain.pem, key.pem, root-cert.pem)', module: '../../workers/agent/agent-command.js',
    spec: ['../../workers/agent/agent-command.js', 'AGENT_COMMAND'],
  },
  token: {
    summary: 'create, revoke or list the bootstrap tokens proxies show the CA', module: '../../control/token-command.js',
    spec: ['../../control/token-command.js', 'TOKEN_COMMAND'], words: ['create', 'revoke', 'list'],
  },
  ca: {
    summary: 'rotate the control plane\'s root CA (rotate, retire-old, status)', module: '../../control/ca-command.js',
    spec: ['../../control/ca-command.js', 'CA_COMMAND'], words: ['rotate', 'retire-old', 'status'],
  },
  'proxy-status': {
    summary: 'list the proxies connected to a running control plane and their xDS sync state', module: '../../control/proxy-status-command.js',
    spec: ['../../control/proxy-status-command.js', 'PROXY_STATUS_COMMAND'], shortFlags: ['-o'], words: [],
  },
  'proxy-config': {
    summary: 'print the clusters, endpoints, listeners or routes a control plane sent a proxy', module: '../../control/proxy-config-command.js',
    spec: ['../../control/proxy-config-command.js', 'PROXY_CONFIG_COMMAND'], shortFlags: ['-o'], words: ['clusters', 'endpoints', 'listeners', 'routes', 'secrets'],
  },
};

const SHELLS = ['bash', 'zsh'] as const;

const COMPLETION_HELP = `Usage: isthmus completion bash|zsh

Prints a shell completion script for isthmus: commands, each command's options, and the values of enumerated options.
  bash: source <(isthmus completion bash)   (or save it in your bash_completion.d)
  zsh:  source <(isthmus completion zsh)    (or save it as _isthmus in your $fpath)
`;

function usage(): string {
  const names = [...Object.keys(COMMANDS), 'version', 'help', 'completion'];
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`);
  rows.push(`  ${'completion'.padEnd(width)}print a shell completion script: \`source <(isthmus completion bash)\` (or zsh)`);
  rows.push(`  ${'version'.padEnd(width)}print the version`);
  rows.push(`  ${'help'.padEnd(width)}show this help, or \`isthmus help COMMAND\``);
  return ['Usage: isthmus <command> [options]', '', 'Commands:', ...rows, '', 'Run `isthmus <command> --help` for its options.', ''].join('\n');
}

/** Reads the version from the package.json above this file (src/ or dist/src/). */
export function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'isthmus' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this level; try the next
    }
  }
  return 'unknown';
}

/** Runs one command line; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const topic = rest[0];
    if (command === 'help' && topic !== undefined && (topic in COMMANDS || topic === 'completion')) return main([topic, '--help']);
    process.stdout.write(usage());
    return command === undefined ? 2 : 0;
  }
  if (command === 'version' || command === '--version' || command === '-v') {
    process.stdout.write(`isthmus ${packageVersion()}\n`);
    return 0;
  }
  if (command === 'completion') return printCompletion(rest);
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (entry === undefined) {
    const meant = closestName(command, [...Object.keys(COMMANDS), 'version', 'help', 'completion']);
    if (meant !== undefined) {
      process.stderr.write(`isthmus: unknown command '${command}'; did you mean '${meant}'?\nRun \`isthmus help\` for every command.\n`);
    } else {
      process.stderr.write(`isthmus: unknown command '${command}'\n\n${usage()}`);
    }
    return 2;
  }
  let mod: CommandModule;
  try {
    mod = (await import(new URL(entry.module, import.meta.url).href)) as CommandModule;
  } catch (err) {
    process.stderr.write(`isthmus ${command}: cannot load ${entry.module}: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    const code = await mod.run(rest);
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    if (err instanceof OptionsError) {
      process.stderr.write(`isthmus ${command}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/** `isthmus completion bash|zsh`: loads each command's option table (not the command) and prints the script. */
async function printCompletion(args: readonly string[]): Promise<number> {
  const shell = args[0];
  if (shell === '--help' || shell === '-h') {
    process.stdout.write(COMPLETION_HELP);
    return 0;
  }
  if (args.length !== 1 || !(SHELLS as readonly string[]).includes(shell!)) {
    const meant = shell === undefined ? undefined : closestName(shell, SHELLS);
    process.stderr.write(`isthmus completion: expected bash or zsh${shell === undefined ? '' : `, got '${shell}'`}${meant ? `; did you mean '${meant}'?` : ''}\n`);
    return 2;
  }
  const { bashCompletion, zshCompletion } = await import('./completion.js');
  const commands: CompletionCommand[] = [];
  for (const [name, entry] of Object.entries(COMMANDS)) {
    let spec: CommandSpec | undefined;
    try {
      spec = ((await import(new URL(entry.spec[0], import.meta.url).href)) as Record<string, CommandSpec | undefined>)[entry.spec[1]];
    } catch {
      // a part not shipped (e.g. bench/ left out): complete its name only
    }
    commands.push({ name, summary: entry.summary, ...(spec ? { spec } : {}), ...(entry.words ? { words: entry.words } : {}), ...(entry.shortFlags ? { shortFlags: entry.shortFlags } : {}) });
  }
  commands.push(
    { name: 'completion', summary: 'print a shell completion script', words: SHELLS },
    { name: 'version', summary: 'print the version', words: [] },
    { name: 'help', summary: 'show the help of a command', words: Object.keys(COMMANDS) },
  );
  process.stdout.write(shell === 'bash' ? bashCompletion(commands) : zshCompletion(commands));
  return 0;
}

/** Runs the process's own command line and sets its exit code (bin/isthmus.js calls this). */
export function runFromProcess(): void {
  exitWithParent();
  main(process.argv.slice(2)).then(
    (code) => {
      // Long-running commands (proxy) exit themselves; short ones set the code and let the loop end.
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`isthmus: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
