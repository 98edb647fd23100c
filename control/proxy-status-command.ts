// `isthmus proxy-status [PROXY] [--control URL]`: istioctl's proxy-status for our
// control plane: every connected proxy with CDS/LDS/EDS/RDS each SYNCED,
// STALE, NACKED or NOT_SENT (with the NACK message below the table).
import { helpText, OptionsError, parseCommandOptions, type CommandSpec } from '../src/cli/options.js';
import { adminGetJson, DEFAULT_CONTROL_URL } from './mesh/admin-get.js';
import { matchProxy } from './mesh/proxy-name.js';
import { formatProxyStatus, type Syncz } from './mesh/sync-status.js';

export const PROXY_STATUS_COMMAND: CommandSpec = {
  name: 'proxy-status',
  usage: '[PROXY] [--control URL] [-o json]',
  summary: 'Lists every proxy connected to a running control plane (or the one PROXY names: its short name, node id, or a unique prefix) and whether each xDS type is SYNCED, STALE or NACKED.',
  positionals: true,
  options: [
    { name: 'control', type: 'string', valueName: 'URL', default: DEFAULT_CONTROL_URL, description: 'the control plane admin API' },
    { name: 'output', type: 'string', valueName: 'FORMAT', description: '`json` prints /debug/syncz as is; also -o' },
  ],
};

/** `-o json` / `-ojson` as `--output json` (the shared parser knows long names only). */
export function expandShortOutput(argv: readonly string[]): string[] {
  return argv.map((arg, i) => {
    if (arg === '-o') return '--output';
    if (arg.startsWith('-o') && !arg.startsWith('--') && argv[i - 1] !== '-o') return `--output=${arg.slice(2)}`;
    return arg;
  });
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandOptions(PROXY_STATUS_COMMAND, expandShortOutput(argv));
  if (parsed.help) {
    process.stdout.write(helpText(PROXY_STATUS_COMMAND));
    return 0;
  }
  const output = parsed.values.output as string | undefined;
  if (output !== undefined && output !== 'json') {
    process.stderr.write(`isthmus proxy-status: -o ${output}: only json is supported\n`);
    return 2;
  }
  const [wanted, ...extra] = parsed.positionals;
  if (extra.length > 0) throw new OptionsError(`unexpected argument ${extra[0]} (give at most one PROXY)`);
  const result = await adminGetJson<Syncz>(String(parsed.values.control), '/debug/syncz');
  if (!result.ok) {
    process.stderr.write(`isthmus proxy-status: ${result.message}\n`);
    return 1;
  }
  let syncz = result.body;
  if (wanted !== undefined) {
    const match = matchProxy(syncz.proxies.map((p) => p.node), wanted);
    if (!match.ok) {
      process.stderr.write(`isthmus proxy-status: ${match.message}\n`);
      return 1;
    }
    syncz = { proxies: syncz.proxies.filter((p) => p.node === match.id) };
  }
  process.stdout.write(output === 'json' ? `${JSON.stringify(syncz, null, 2)}\n` : formatProxyStatus(syncz));
  return 0;
}
