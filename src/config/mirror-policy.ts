// config.route.v3.RouteAction.RequestMirrorPolicy: a fire-and-forget copy of
// a share of requests to another cluster (the Host gets "-shadow" appended),
// named in the config or, with cluster_header, by a request header.

import type { RequestMirrorPolicy } from './bootstrap-types.js';
import { readRuntimeFraction } from './fraction.js';
import type { ClusterReference } from './route-action.js';
import type { ValueReader } from './yaml-reader.js';

/** An HTTP field name (RFC 9110 token); pseudo-headers name no cluster. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function readMirrorPolicy(v: ValueReader, refs: ClusterReference[]): RequestMirrorPolicy | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const which = obj.oneOf(['cluster', 'cluster_header'], true);
  let cluster: string | undefined;
  let clusterHeader: string | undefined;
  if (which === 'cluster') {
    const f = obj.field('cluster');
    cluster = f.nonEmptyString();
    if (cluster !== undefined) refs.push({ name: cluster, at: f });
  } else if (which === 'cluster_header') {
    // Named per request, so not checked against the clusters here (Envoy does not either).
    const f = obj.field('cluster_header');
    const name = f.nonEmptyString();
    if (name !== undefined && !HEADER_NAME.test(name)) f.problem(`"${name}" is not a header name`);
    else clusterHeader = name?.toLowerCase();
  }
  const fractionField = obj.field('runtime_fraction');
  // Envoy: without runtime_fraction every request is mirrored.
  const fraction = fractionField.missing ? 1 : readRuntimeFraction(fractionField);
  // No tracing here, so whether the mirror's trace is sampled changes nothing: accepted, ignored.
  obj.field('trace_sampled').bool();
  const suffix = obj.field('disable_shadow_host_suffix_append');
  const noSuffix = suffix.bool();
  if (noSuffix === true) suffix.problem('is not supported (the mirror\'s Host always gets "-shadow" appended)');
  obj.done();
  if ((cluster === undefined && clusterHeader === undefined) || fraction === undefined || noSuffix === true || (noSuffix === undefined && !suffix.missing)) return undefined;
  return cluster !== undefined ? { cluster, fraction } : { clusterHeader: clusterHeader!, fraction };
}

/** RouteAction.request_mirror_policies; mirror clusters are appended to refs (they must exist, like route clusters). */
export function readMirrorPolicies(v: ValueReader, refs: ClusterReference[]): RequestMirrorPolicy[] | undefined {
  return v.listOf((item) => readMirrorPolicy(item, refs));
}
