// The proxy's own default access-log line (--access-log): one JSON object
// with Envoy's default fields, in the order pino wrote them before. It is a
// json_format like any configured one, so both go through one formatter.
import type { AccessLogFormat, JsonFormatField } from './access-log-config.js';
import { parseFormatString, type FormatPart } from './access-log-format.js';

function literalField(key: string, json: string): JsonFormatField {
  return { key, value: { kind: 'literal', json } };
}

function formatField(key: string, format: string): JsonFormatField {
  return { key, value: { kind: 'format', parts: parseFormatString(format) as FormatPart[] } };
}

export const DEFAULT_ACCESS_LOG_FORMAT: AccessLogFormat = Object.freeze<AccessLogFormat>({
  kind: 'json',
  text: [],
  json: [
    literalField('level', '30'),
    literalField('log', '"access"'),
    formatField('start_time', '%START_TIME%'),
    formatField('method', '%REQ(:METHOD)%'),
    formatField('path', '%REQ(:PATH)%'),
    formatField('protocol', '%PROTOCOL%'),
    formatField('response_code', '%RESPONSE_CODE%'),
    formatField('response_flags', '%RESPONSE_FLAGS%'),
    formatField('bytes_received', '%BYTES_RECEIVED%'),
    formatField('bytes_sent', '%BYTES_SENT%'),
    formatField('duration', '%DURATION%'),
    formatField('upstream_host', '%UPSTREAM_HOST%'),
    formatField('upstream_cluster', '%UPSTREAM_CLUSTER%'),
    formatField('x_forwarded_for', '%REQ(X-FORWARDED-FOR)%'),
    formatField('user_agent', '%REQ(USER-AGENT)%'),
    formatField('request_id', '%REQ(X-REQUEST-ID)%'),
    formatField('authority', '%REQ(:AUTHORITY)%'),
    formatField('downstream_peer_uri_san', '%DOWNSTREAM_PEER_URI_SAN%'),
  ],
  omitEmptyValues: false,
  contentType: 'application/json',
});
