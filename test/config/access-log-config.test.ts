// http_connection_manager.access_log as a user writes it: loggers, formats
// with Envoy's command operators, filters; and each mistake reported with the
// field it is in (an unknown operator, runtime_filter, a bad flag).
import { describe, expect, it } from 'vitest';
import { parseFormatString } from '../../src/config/access-log-format.js';
import { bootstrapText, lineOf, parseParts, problemLines } from './bootstrap-text.js';

const FILE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const STDOUT = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const STDERR = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog';
/** Paths past 100 characters are shown from their named listener. */
const AL = 'listener "l" › filter_chains[0].filters[0].typed_config.access_log';

describe('access-log format strings', () => {
  it('splits text and operators, with arguments, fallbacks and lengths', () => {
    expect(parseFormatString('[%START_TIME(%Y-%m-%dT%H:%M:%S%z)%] %REQ(X-ENVOY-ORIGINAL-PATH?:PATH):20% %RESPONSE_CODE%\n')).toEqual([
      '[',
      { op: 'START_TIME', arg: '%Y-%m-%dT%H:%M:%S%z', alt: '', maxLength: 0 },
      '] ',
      { op: 'REQ', arg: 'x-envoy-original-path', alt: ':path', maxLength: 20 },
      ' ',
      { op: 'RESPONSE_CODE', arg: '', alt: '', maxLength: 0 },
      '\n',
    ]);
  });

  it('refuses an unknown operator, a header operator without a header and a stray %', () => {
    expect(parseFormatString('%NOPE%')).toMatch(/^uses the unknown command operator %NOPE%; supported: %START_TIME%/);
    expect(parseFormatString('%REQ%')).toMatch(/^%REQ% needs a header name/);
    expect(parseFormatString('%RESPONSE_CODE(x)%')).toMatch(/takes no argument/);
    expect(parseFormatString('100% done')).toMatch(/starts no command operator/);
  });
});

describe('http_connection_manager.access_log', () => {
  it('reads file, stdout and stderr loggers with text, deprecated text_format and json formats, and filters', () => {
    const b = parseParts({
      accessLog: [
        { name: 'envoy.access_loggers.file', typed_config: { '@type': FILE, path: '/tmp/a.log' } },
        {
          name: 'envoy.access_loggers.stdout',
          filter: { and_filter: { filters: [
            { status_code_filter: { comparison: { op: 'GE', value: { default_value: 500, runtime_key: 'k' } } } },
            { or_filter: { filters: [{ not_health_check_filter: {} }, { response_flag_filter: { flags: ['UF', 'URX'] } }] } },
          ] } },
          typed_config: { '@type': STDOUT, log_format: { text_format: '%RESPONSE_CODE%\n', omit_empty_values: true } },
        },
        {
          name: 'envoy.access_loggers.stderr',
          filter: { header_filter: { header: { name: 'X-Log', present_match: true } } },
          typed_config: { '@type': STDERR, log_format: { json_format: { code: '%RESPONSE_CODE%', n: 1, nested: { p: 'path=%REQ(:PATH)%' } }, content_type: 'application/json' } },
        },
        { name: 'x', typed_config: { '@type': FILE, path: '/dev/stdout', log_format: { text_format_source: { inline_string: 'x' } } } },
      ],
    });
    const logs = b.listeners[0]!.accessLogs;
    expect(logs.map((l) => [l.sink, l.path, l.format.kind])).toEqual([
      ['file', '/tmp/a.log', 'text'], ['stdout', '', 'text'], ['stderr', '', 'json'], ['stdout', '/dev/stdout', 'text'],
    ]);
    expect(logs[0]!.format.text[0]).toBe('['); // Envoy's default format
    expect(logs[1]!.format.omitEmptyValues).toBe(true);
    expect(logs[1]!.filter).toEqual({ kind: 'and', filters: [
      { kind: 'status_code', op: 'GE', value: 500 },
      { kind: 'or', filters: [{ kind: 'not_health_check' }, { kind: 'response_flag', flags: ['UF', 'URX'] }] },
    ] });
    expect(logs[2]!.filter).toMatchObject({ kind: 'header', header: { name: 'x-log', present: true } });
    expect(logs[2]!.format.json.map((f) => f.key)).toEqual(['code', 'n', 'nested']);
  });

  it('names the field of each mistake: unknown operator, runtime_filter, bad flag, missing path, unknown logger', () => {
    const parts = {
      accessLog: [
        { typed_config: { '@type': FILE, path: '/tmp/a.log', log_format: { text_format_source: { inline_string: '%BOGUS_OP%' } } } },
        { filter: { runtime_filter: { runtime_key: 'sample' } }, typed_config: { '@type': STDOUT } },
        { filter: { response_flag_filter: { flags: ['XX'] } }, typed_config: { '@type': STDOUT } },
        { typed_config: { '@type': FILE } },
        { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig' } },
        { typed_config: { '@type': STDOUT, log_format: { json_format: { a: '%REQ(:PATH)%', b: ['x'] } } } },
      ],
    };
    const text = bootstrapText(parts);
    const lines = problemLines(parts);
    expect(lines[0]).toBe(`b.yaml:${lineOf(text, '%BOGUS_OP%')}: ${AL}[0].typed_config.log_format.text_format_source.inline_string uses the unknown command operator %BOGUS_OP%; supported: ${lines[0]!.split('supported: ')[1]}`);
    expect(lines[0]).toContain('%DOWNSTREAM_REMOTE_ADDRESS%');
    expect(lines[1]).toContain(`${AL}[1].filter.runtime_filter is not supported: Isthmus has no runtime`);
    expect(lines[2]).toContain(`${AL}[2].filter.response_flag_filter.flags[0] names "XX", not a response flag`);
    expect(lines[3]).toContain(`${AL}[3].typed_config.path is required`);
    expect(lines[4]).toContain(`${AL}[4].typed_config.@type must be one of`);
    expect(lines[5]).toContain(`${AL}[5].typed_config.log_format.json_format.b must be a format string, a number, a boolean or an object`);
    expect(lines).toHaveLength(6);
  });
});
