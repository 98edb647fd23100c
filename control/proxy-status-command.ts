// `isthmus proxy-status [--control URL]`: istioctl's proxy-status for our
// control plane: every connected proxy with CDS/LDS/EDS/RDS each SYNCED,
// STALE, NACKED or NOT_SENT (with the NACK message below the table).
import { helpText, parseCommandOptions, type CommandSpec } from '../src/cli/options.js';
import { adminGetJson, DEFAULT_CONTROL_URL } from './mesh/admin-get.js';
import { formatProxyStatus, type Syncz } from './mesh/sync-status.js';

const SPEC: CommandSpec = {
  name: 'proxy-status',
  usage: '[--control URL] [-o json]',
  summary: 'Lists every proxy connected to a running control plane and whether each xDS type is SYNCED, STALE or NACKED.',
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
  const parsed = parseCommandOptions(SPEC, expandShortOutput(argv));
  if (parsed.help) {
    process.stdout.write(helpText(SPEC));
    return 0;
  }
  const output = parsed.values.output as string | undefined;
  if (output !== undefined && output !== 'json') {
    process.stderr.write(`isthmus proxy-status: -o ${output}: only json is supported\n`);
    return 2;
  }
  const result = await adminGetJson<Syncz>(String(parsed.values.control), '/debug/syncz');
  if (!result.ok) {
    process.stderr.write(`isthmus proxy-status: ${result.message}\n`);
    return 1;
  }
  process.stdout.write(output === 'json' ? `${JSON.stringify(result.body, null, 2)}\n` : formatProxyStatus(result.body));
  return 0;
}
