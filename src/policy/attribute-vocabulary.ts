// Istio's attribute vocabulary (Mixer's "canonical attributes", istio.io
// reference/config/policy-and-telemetry/attribute-vocabulary, 1.1-1.5): the
// names a sidecar or the control plane may produce, each with its type. The
// expression checker refuses a name outside it, so a typo in a rule is a
// config error instead of a rule that silently never matches.
import { ValueType } from './attribute-value.js';

const { STRING, INT64, BOOL, TIMESTAMP, DURATION, IP_ADDRESS, STRING_MAP } = ValueType;

/** [name, type, what it is] in the order the docs table shows them. */
export const ATTRIBUTE_DESCRIPTIONS: readonly (readonly [string, ValueType, string])[] = [
  // The workload that sent the request.
  ['source.uid', STRING, "platform-specific unique id of the source workload instance ('kubernetes://pod.namespace')"],
  ['source.ip', IP_ADDRESS, 'source workload instance IP address'],
  ['source.port', INT64, 'source port of the connection'],
  ['source.labels', STRING_MAP, 'labels of the source instance'],
  ['source.name', STRING, 'source workload instance name'],
  ['source.namespace', STRING, 'source workload instance namespace'],
  ['source.principal', STRING, "authority the source runs under (mTLS: 'cluster.local/ns/NS/sa/SA')"],
  ['source.owner', STRING, 'reference to the workload controlling the source instance'],
  ['source.workload.uid', STRING, 'unique identifier of the source workload'],
  ['source.workload.name', STRING, 'source workload name'],
  ['source.workload.namespace', STRING, 'source workload namespace'],
  // The workload that receives it.
  ['destination.uid', STRING, 'platform-specific unique id of the destination workload instance'],
  ['destination.ip', IP_ADDRESS, 'destination (server) IP address'],
  ['destination.port', INT64, 'destination port on the server IP address'],
  ['destination.labels', STRING_MAP, 'labels of the server instance'],
  ['destination.name', STRING, 'destination workload instance name'],
  ['destination.namespace', STRING, 'destination workload instance namespace'],
  ['destination.principal', STRING, 'authority the destination runs under'],
  ['destination.owner', STRING, 'reference to the workload controlling the destination instance'],
  ['destination.container.name', STRING, 'container name on the destination instance'],
  ['destination.container.image', STRING, 'image of the destination container'],
  ['destination.service.host', STRING, "destination service host ('reviews.default.svc.cluster.local')"],
  ['destination.service.uid', STRING, "unique id of the destination service ('istio://default/services/reviews')"],
  ['destination.service.name', STRING, "destination service name ('reviews')"],
  ['destination.service.namespace', STRING, 'destination service namespace'],
  ['destination.workload.uid', STRING, 'unique identifier of the destination workload'],
  ['destination.workload.name', STRING, 'destination workload name'],
  ['destination.workload.namespace', STRING, 'destination workload namespace'],
  ['origin.ip', IP_ADDRESS, 'IP address of the proxy client (e.g. the ingress)'],
  // The HTTP request.
  ['request.headers', STRING_MAP, 'request headers (lowercase names; repeated headers joined with commas)'],
  ['request.id', STRING, 'an id for the request (x-request-id)'],
  ['request.path', STRING, 'the HTTP URL path including the query string'],
  ['request.url_path', STRING, 'the path without the query string'],
  ['request.query_params', STRING_MAP, 'query parameters extracted from the URL'],
  ['request.host', STRING, 'the HTTP Host header (:authority)'],
  ['request.method', STRING, "the HTTP method ('GET')"],
  ['request.reason', STRING, 'the request reason used by auditing systems'],
  ['request.referer', STRING, 'the HTTP referer header'],
  ['request.scheme', STRING, "URI scheme ('http', 'https')"],
  ['request.size', INT64, 'size of the request body in bytes'],
  ['request.total_size', INT64, 'size of the whole request (head and body) in bytes'],
  ['request.time', TIMESTAMP, 'when the destination received the request'],
  ['request.useragent', STRING, 'the HTTP User-Agent header'],
  ['request.api_key', STRING, 'the API key of the request'],
  ['request.auth.principal', STRING, "the authenticated principal of the request ('issuer/subject')"],
  ['request.auth.audiences', STRING, 'the intended audience(s) of the credential'],
  ['request.auth.presenter', STRING, 'the authorized presenter of the credential'],
  ['request.auth.claims', STRING_MAP, 'claims of the origin JWT'],
  ['request.auth.raw_claims', STRING, 'raw claims of the origin JWT'],
  // The HTTP response.
  ['response.headers', STRING_MAP, 'response headers (lowercase names)'],
  ['response.size', INT64, 'size of the response body in bytes'],
  ['response.total_size', INT64, 'size of the whole response (head and body) in bytes'],
  ['response.time', TIMESTAMP, 'when the destination produced the response'],
  ['response.duration', DURATION, 'how long producing the response took'],
  ['response.code', INT64, "the response's HTTP status code"],
  ['response.grpc_status', STRING, "the response's gRPC status code"],
  ['response.grpc_message', STRING, "the response's gRPC status message"],
  // The connection.
  ['connection.id', STRING, 'an id for the TCP connection'],
  ['connection.event', STRING, "status of a TCP connection ('open', 'continue', 'close')"],
  ['connection.received.bytes', INT64, 'bytes the destination received on the connection for this request'],
  ['connection.received.bytes_total', INT64, 'bytes the destination received over the connection'],
  ['connection.sent.bytes', INT64, 'bytes the destination sent on the connection for this request'],
  ['connection.sent.bytes_total', INT64, 'bytes the destination sent over the connection'],
  ['connection.duration', DURATION, 'how long the connection has been open'],
  ['connection.mtls', BOOL, 'whether the request arrived over mutual TLS'],
  ['connection.requested_server_name', STRING, 'the TLS SNI the client asked for'],
  // The call's context.
  ['context.protocol', STRING, "protocol of the request or connection ('http', 'grpc', 'tcp')"],
  ['context.time', TIMESTAMP, 'the time of the Mixer operation'],
  ['context.timestamp', TIMESTAMP, 'the time of the Mixer operation (alias of context.time)'],
  ['context.reporter.kind', STRING, "'inbound' (server side) or 'outbound' (client side)"],
  ['context.reporter.uid', STRING, 'platform-specific id of the reporter'],
  ['context.proxy_error_code', STRING, "the proxy's response flags ('UH', 'NR', ...)"],
  // The API called (Istio's API specs) and the check's own outcome.
  ['api.service', STRING, 'the public service name of the API'],
  ['api.version', STRING, 'the API version'],
  ['api.operation', STRING, 'a unique id of the operation called'],
  ['api.protocol', STRING, "the protocol of the API call ('http', 'https', 'grpc')"],
  ['check.error_code', INT64, 'the error code of a failed Check'],
  ['check.error_message', STRING, 'the error message of a failed Check'],
  ['check.cache_hit', BOOL, 'whether the Check answer came from the proxy cache'],
  ['quota.cache_hit', BOOL, 'whether the quota answer came from the proxy cache'],
  ['rbac.permissive.response_code', STRING, 'the RBAC dry-run decision'],
  ['rbac.permissive.effective_policy_id', STRING, 'the RBAC dry-run policy id'],
];

/** Every attribute name the expression language knows, with its value type. */
export const ATTRIBUTE_VOCABULARY: ReadonlyMap<string, ValueType> = new Map(
  ATTRIBUTE_DESCRIPTIONS.map(([name, type]) => [name, type] as const),
);
