// Istio's meshConfig.accessLogFile, accessLogEncoding and accessLogFormat as
// the HTTP connection manager's access_log, the way istiod writes it into
// every listener it builds: an envoy.access_loggers.file logger (stdout when
// the file is /dev/stdout) with Istio's default TEXT or JSON format unless
// accessLogFormat gives one. Checked when the control plane starts, so a
// format the proxies would refuse never reaches them.
import { parseFormatString } from '../../src/config/access-log-format.js';

export type AccessLogEncoding = 'TEXT' | 'JSON';
export const ACCESS_LOG_ENCODINGS: readonly AccessLogEncoding[] = ['TEXT', 'JSON'];

/** Istio's default TEXT access-log format (one line; Istio's documentation shows it wrapped). */
export const ISTIO_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% '
  + '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% '
  + '%BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
  + '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% '
  + '%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/** Istio's default JSON access-log fields. */
export const ISTIO_JSON_FORMAT: Readonly<Record<string, string>> = Object.freeze({
  start_time: '%START_TIME%',
  route_name: '%ROUTE_NAME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER_RAW%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
});

export interface MeshAccessLog {
  /** meshConfig.accessLogFile: '' = no access log (Istio's default). */
  readonly file: string;
  readonly encoding: AccessLogEncoding;
  /** meshConfig.accessLogFormat: '' = Istio's default for the encoding; with JSON, a JSON object of format strings. */
  readonly format: string;
}

export const DEFAULT_MESH_ACCESS_LOG: MeshAccessLog = Object.freeze({ file: '', encoding: 'TEXT', format: '' });

/** The problem with a mesh access-log setting (a sentence), or undefined when the proxies will accept it. */
export function meshAccessLogProblem(log: MeshAccessLog): string | undefined {
  if (log.format === '') return undefined;
  if (log.encoding === 'TEXT') {
    const parsed = parseFormatString(log.format);
    return typeof parsed === 'string' ? `accessLogFormat ${parsed}` : undefined;
  }
  const fields = jsonFields(log.format);
  if (typeof fields === 'string') return fields;
  for (const [key, value] of Object.entries(fields)) {
    const parsed = parseFormatString(value);
    if (typeof parsed === 'string') return `accessLogFormat field "${key}" ${parsed}`;
  }
  return undefined;
}

function jsonFields(format: string): Record<string, string> | string {
  let value: unknown;
  try {
    value = JSON.parse(format);
  } catch (err) {
    return `accessLogFormat with accessLogEncoding JSON must be a JSON object of format strings (${(err as Error).message})`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    return 'accessLogFormat with accessLogEncoding JSON must be a JSON object whose values are format strings';
  }
  return value as Record<string, string>;
}

/** A google.protobuf.Struct of string values, in the form the resource encoder packs (protobufjs's Value). */
function struct(fields: Readonly<Record<string, string>>): object {
  return { fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { string_value: v }])) };
}

/** The HCM fields for the mesh's access log: `{ access_log: [...] }`, or nothing when it is off. */
export function hcmAccessLog(log: MeshAccessLog): { access_log?: object[] } {
  if (log.file === '') return {};
  const logFormat = log.encoding === 'JSON'
    ? { json_format: struct(log.format === '' ? ISTIO_JSON_FORMAT : jsonFields(log.format) as Record<string, string>) }
    : { text_format_source: { inline_string: log.format === '' ? ISTIO_TEXT_FORMAT : withNewline(log.format) } };
  return {
    access_log: [{
      name: 'envoy.access_loggers.file',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: log.file, log_format: logFormat },
    }],
  };
}

/** Istio ends a custom TEXT format with a newline when it has none (one request, one line). */
function withNewline(format: string): string {
  return format.endsWith('\n') ? format : format + '\n';
}
