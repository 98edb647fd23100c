// The access-policy HTTP filters (envoy.filters.http.rbac, ext_authz and the
// Mixer policy filter) as one module a data plane loads only when a config
// names one of them (feature-modules.ts): most sidecars run none, and their
// compilers and factories are ~40 kB of source every isolate would otherwise
// parse and keep.
export { compileRbacRules } from './rbac/rbac-compile.js';
export { RbacFilterFactory } from './rbac/rbac-filter.js';
export { ExtAuthzFilterFactory } from './ext-authz/ext-authz-filter.js';
export { compileMixerFilter } from './mixer/mixer-compile.js';
