// `isthmus proxy-config routes|clusters|endpoints|listeners|authz PROXY [--control URL] [-o json]`:
// what the control plane sent one proxy (its short name as `isthmus
// proxy-status` lists it, its node id, or a unique prefix), as an istioctl-style table or the resources as JSON.
import { helpText, OptionsError, parseCommandOptions, type CommandSpec } from '../src/cli/options.js';
import type { ProxyConfigDump } from './admin/xds-admin-routes.js';
import { adminGetJson, DEFAULT_CONTROL_URL } from './mesh/admin-get.js';
import { formatSection, SECTIONS, type Section } from './mesh/config-dump-tables.js';
import { matchProxy } from './mesh/proxy-name.js';
import type { Syncz } from './mesh/sync-status.js';
import { expandShortOutput } from './proxy-status-command.js';
import { formatSecrets, proxyAdminUrl } from './mesh/secrets-table.js';
import { authzRows, formatAuthz } from './mesh/authz-table.js';

export const PROXY_CONFIG_COMMAND: CommandSpec = {
  name: 'proxy-config',
  usage: `${SECTIONS.join('|')}|authz PROXY [--control URL] [-o json] | secrets PROXY-ADMIN-ADDRESS [-o json]`,
  summary: 'Prints the clusters, endpoints, listeners or routes a running control plane sent one proxy (`authz`: the AuthorizationPolicies its inbound RBAC filters enforce, like istioctl x authz check) (PROXY: its short name as proxy-status lists it, its node id, or a unique prefix of either); `secrets` reads the proxy\'s own admin API (HOST:PORT) for its SDS secrets: chain, serial, SANs, expiry, never the key.',
  positionals: true,
  options: [
    { name: 'control', type: 'string', valueName: 'URL', default: DEFAULT_CONTROL_URL, description: 'the control plane admin API' },
    { name: 'output', type: 'string', valueName: 'FORMAT', description: '`json` prints the Envoy resources; also -o' },
  ],
};

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandOptions(PROXY_CONFIG_COMMAND, expandShortOutput(argv));
  if (parsed.help) {
    process.stdout.write(helpText(PROXY_CONFIG_COMMAND));
    return 0;
  }
  const [section, proxy, ...extra] = parsed.positionals;
  if (section === 'secrets') return runSecrets(proxy, extra, parsed.values.output as string | undefined);
  const authz = section === 'authz';
  if (section === undefined || (!authz && !(SECTIONS as readonly string[]).includes(section))) {
    throw new OptionsError(`the first argument must be one of ${SECTIONS.join(', ')}, authz${section === undefined ? '' : `, got '${section}'`}`);
  }
  if (proxy === undefined || proxy === '') throw new OptionsError(`needs the proxy's name: isthmus proxy-config ${section} PROXY (see isthmus proxy-status)`);
  if (extra.length > 0) throw new OptionsError(`unexpected argument ${extra[0]}`);
  const output = parsed.values.output as string | undefined;
  if (output !== undefined && output !== 'json') throw new OptionsError(`-o ${output}: only json is supported`);
  const control = String(parsed.values.control);
  const syncz = await adminGetJson<Syncz>(control, '/debug/syncz');
  if (!syncz.ok) {
    process.stderr.write(`isthmus proxy-config: ${syncz.message}\n`);
    return 1;
  }
  const match = matchProxy(syncz.body.proxies.map((p) => p.node), proxy);
  if (!match.ok) {
    process.stderr.write(`isthmus proxy-config: ${match.message}\n`);
    return 1;
  }
  const result = await adminGetJson<ProxyConfigDump>(control, `/debug/config_dump?proxy=${encodeURIComponent(match.id)}`);
  if (!result.ok) {
    process.stderr.write(`isthmus proxy-config: ${result.message}\n`);
    return 1;
  }
  const resources = result.body.sections[(authz ? 'listeners' : section) as Section]?.resources ?? [];
  if (authz) {
    process.stdout.write(output === 'json' ? `${JSON.stringify(authzRows(resources), null, 2)}\n` : formatAuthz(resources));
    return 0;
  }
  process.stdout.write(output === 'json' ? `${JSON.stringify(resources, null, 2)}\n` : formatSection(section as Section, resources));
  return 0;
}

/** `secrets HOST:PORT`: asks the proxy itself (the control plane never holds workload certificates). */
async function runSecrets(proxy: string | undefined, extra: readonly string[], output: string | undefined): Promise<number> {
  if (proxy === undefined || proxy === '') throw new OptionsError('needs the proxy\'s admin address: isthmus proxy-config secrets HOST:PORT (its --admin-port)');
  if (extra.length > 0) throw new OptionsError(`unexpected argument ${extra[0]}`);
  if (output !== undefined && output !== 'json') throw new OptionsError(`-o ${output}: only json is supported`);
  const result = await adminGetJson<{ secrets?: [] }>(proxyAdminUrl(proxy), '/secrets');
  if (!result.ok) {
    process.stderr.write(`isthmus proxy-config: ${result.message}\n`);
    return 1;
  }
  process.stdout.write(output === 'json' ? `${JSON.stringify(result.body, null, 2)}\n` : formatSecrets(result.body));
  return 0;
}
