// The HTTP filter names the data plane matches on, apart from the config readers that define their fields: a
// worker thread imports only these strings, not the readers (and through them the YAML library it never uses).
export const CORS_FILTER_NAME = 'envoy.filters.http.cors';
export const FAULT_FILTER_NAME = 'envoy.filters.http.fault';
export const LOCAL_RATE_LIMIT_FILTER_NAME = 'envoy.filters.http.local_ratelimit';
export const COMPRESSOR_FILTER_NAME = 'envoy.filters.http.compressor';
export const RBAC_FILTER_NAME = 'envoy.filters.http.rbac';
export const MIXER_FILTER_NAME = 'isthmus.filters.http.mixer';
export const EXT_AUTHZ_FILTER_NAME = 'envoy.filters.http.ext_authz';
/** The ext_authz cluster name that means the control plane the proxy gets xDS from (Istio's bootstrap names its xDS cluster so). */
export const CONTROL_PLANE_CLUSTER = 'xds-grpc';
