// Access logs from the bootstrap, as an Envoy user writes them: the HTTP
// connection manager's access_log with the file, stdout and stderr loggers,
// TEXT and JSON formats with Envoy's command operators, and filters. Two
// workers write the same files. A hostile header stays inside its field (JSON
// escaped; TEXT keeps one line per request), and a format with an unknown
// operator is rejected by field while the old loggers keep logging.
import * as http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapYaml, configDump, replaceFile, request, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream,
} from './harness.js';

const FILE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const STDOUT = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const STDERR = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

const TEXT_FORMAT = '[%START_TIME(%Y/%m/%dT%H:%M:%S.%3f)%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" '
  + '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %BYTES_SENT% %UPSTREAM_HOST% %UPSTREAM_CLUSTER% '
  + '%ROUTE_NAME% %UPSTREAM_REQUEST_ATTEMPT_COUNT% %RESP(X-UPSTREAM):3% "%REQ(X-TEST)%" %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%\n';

let upstream: Upstream;
let proxy: RunningProxy;
let dir: string;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function bootstrap(textFormat: string): string {
  const file = (name: string, extra: Record<string, unknown> = {}, filter?: unknown) => ({
    name: 'envoy.access_loggers.file',
    ...(filter === undefined ? {} : { filter }),
    typed_config: { '@type': FILE, path: join(dir, name), ...extra },
  });
  return bootstrapYaml({
    static_resources: {
      listeners: [{
        name: 'web',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: 'web',
              access_log: [
                file('text.log', { log_format: { text_format_source: { inline_string: textFormat } } }),
                file('json.log', {
                  log_format: {
                    json_format: {
                      code: '%RESPONSE_CODE%', path: '%REQ(:PATH)%', test: '%REQ(X-TEST)%', missing: '%REQ(X-NOT-SENT)%',
                      mixed: 'status=%RESPONSE_CODE% cluster=%UPSTREAM_CLUSTER%', fixed: 7, nested: { flags: '%RESPONSE_FLAGS%' },
                    },
                    omit_empty_values: true,
                  },
                }),
                file('errors.log', { log_format: { text_format: '%RESPONSE_CODE% %REQ(:PATH)%\n' } }, {
                  status_code_filter: { comparison: { op: 'GE', value: { default_value: 400, runtime_key: 'access_log.errors' } } },
                }),
                file('chosen.log', { log_format: { text_format_source: { inline_string: '%REQ(:PATH)%\n' } } }, {
                  or_filter: { filters: [
                    { and_filter: { filters: [{ header_filter: { header: { name: 'x-log', string_match: { exact: 'yes' } } } }, { not_health_check_filter: {} }] } },
                    { response_flag_filter: { flags: ['NR'] } },
                  ] },
                }),
                file('never.log', {}, { traceable_filter: {} }),
                file('default.log'),
                {
                  name: 'envoy.access_loggers.stdout',
                  typed_config: { '@type': STDOUT, log_format: { text_format_source: { inline_string: 'STDOUT-LINE %RESPONSE_CODE% %REQ(:PATH)%\n' } } },
                },
                {
                  name: 'envoy.access_loggers.stderr',
                  typed_config: { '@type': STDERR, log_format: { json_format: { stream: 'stderr', code: '%RESPONSE_CODE%' } } },
                },
              ],
              route_config: {
                name: 'local',
                virtual_hosts: [{
                  name: 'all',
                  domains: ['*'],
                  routes: [{ name: 'to-backend', match: { prefix: '/app' }, route: { cluster: 'backend' } }],
                }],
              },
            },
          }],
        }],
      }],
      clusters: [{
        name: 'backend',
        type: 'STATIC',
        connect_timeout: '1s',
        load_assignment: {
          cluster_name: 'backend',
          endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstream.port } } } }] }],
        },
      }],
    },
  });
}

function lines(name: string): string[] {
  try {
    return readFileSync(join(dir, name), 'latin1').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

/** A header a client may send that holds JSON's and a log line's special characters, and two non-ASCII bytes. */
const HOSTILE = 'a"b\\c\t}{,"code":1,\u00c3\u00a9';

beforeAll(async () => {
  upstream = await startUpstream((_req, res) => {
    res.setHeader('x-upstream', 'yes-long');
    res.end('ok');
  });
  dir = mkdtempSync(join(tmpdir(), 'isthmus-access-logs-'));
  proxy = await startProxy({ bootstrap: bootstrap(TEXT_FORMAT), workers: 2 });
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await proxy?.stop();
  await upstream?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('access_log from the bootstrap', () => {
  it('writes each logger in its format, applies filters, and keeps hostile header values inside their field', async () => {
    const port = proxy.port;
    const results = [];
    for (let i = 0; i < 10; i++) results.push(await request(port, `/app/${i}?q=${i}`, { agent, headers: { 'x-test': `t${i}` } }));
    results.push(await request(port, '/app/hostile', { agent, headers: { 'x-test': HOSTILE, 'x-log': 'yes' } }));
    results.push(await request(port, '/nowhere', { agent }));
    expect(results.map((r) => r.status)).toEqual([...Array(11).fill(200), 404]);
    await waitFor('every logger to write its lines', () => lines('text.log').length === 12 && lines('json.log').length === 12
      && lines('default.log').length === 12 && lines('errors.log').length === 1 && lines('chosen.log').length === 2 && proxy.lines.filter((l) => String(l.msg).startsWith('STDOUT-LINE')).length === 12
      && proxy.stderr().split('\n').filter((l) => l.startsWith('{"stream"')).length === 12);

    // TEXT: one line per request, whatever the header held (its tab written as \x09).
    const text = lines('text.log');
    const first = text.find((l) => l.includes('/app/0?q=0'))!;
    expect(first).toMatch(/^\[\d{4}\/\d\d\/\d\dT\d\d:\d\d:\d\d\.\d{3}\] "GET \/app\/0\?q=0 HTTP\/1\.1" 200 - via_upstream 2 127\.0\.0\.1:\d+ backend to-backend 1 yes "t0" 127\.0\.0\.1$/);
    const hostile = text.find((l) => l.includes('/app/hostile'))!;
    expect(hostile).toContain('"a"b\\c\\x09}{,"code":1,\u00c3\u00a9"');
    expect(text.find((l) => l.includes('/nowhere'))).toMatch(/"GET \/nowhere HTTP\/1\.1" 404 NR route_not_found \d+ - - - 0 - "-" /);

    // JSON: typed values, omitted empties, nested objects; the hostile value comes back exactly.
    const json = lines('json.log').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json.find((j) => j.path === '/app/3?q=3')).toEqual({
      code: 200, path: '/app/3?q=3', test: 't3', mixed: 'status=200 cluster=backend', fixed: 7, nested: { flags: '-' },
    });
    expect(json.find((j) => j.path === '/app/hostile')!.test).toBe(HOSTILE);
    expect(json.find((j) => j.path === '/nowhere')).toEqual({ code: 404, path: '/nowhere', mixed: 'status=404 cluster=-', fixed: 7, nested: { flags: 'NR' } });
    expect(lines('json.log').every((l) => /^[\x20-\x7e]+$/.test(l))).toBe(true);

    // Filters: status >= 400; (x-log: yes and not a health check) or NR; traceable (no tracing: never).
    expect(lines('errors.log')).toEqual(['404 /nowhere']);
    expect(lines('chosen.log').sort()).toEqual(['/app/hostile', '/nowhere']);
    expect(lines('never.log')).toEqual([]);
    // No log_format: Envoy's default format.
    expect(lines('default.log').find((l) => l.includes('/app/1?q=1'))).toMatch(/^\[\S+Z\] "GET \/app\/1\?q=1 HTTP\/1\.1" 200 - \d+ 2 \d+ - "-" "-" "[0-9a-f-]{36}" "127\.0\.0\.1:\d+" "127\.0\.0\.1:\d+"$/);
  }, 60_000);

  it('rejects a format with an unknown operator by its field and keeps logging with the old one', async () => {
    const before = await configDump(proxy);
    replaceFile(proxy.bootstrapPath, bootstrap('%NOT_AN_OPERATOR% %RESPONSE_CODE%\n'));
    const dump = await waitFor('the rejection', async () => {
      const d = await configDump(proxy);
      return d.configRejectedTotal === 1 ? d : undefined;
    });
    expect(dump.version).toBe(before.version);
    expect(dump.lastRejected?.problems.join('\n')).toMatch(/access_log\[0\]\.typed_config\.log_format\.text_format_source\.inline_string uses the unknown command operator %NOT_AN_OPERATOR%/);
    const count = lines('text.log').length;
    expect((await request(proxy.port, '/app/after-reject', { agent })).status).toBe(200);
    await waitFor('the old format to log the request', () => lines('text.log').length === count + 1);
    expect(lines('text.log').at(-1)).toMatch(/"GET \/app\/after-reject HTTP\/1\.1" 200 /);
  }, 60_000);
});
