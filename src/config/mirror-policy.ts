// config.route.v3.RouteAction.RequestMirrorPolicy: a fire-and-forget copy of
// a share of requests to another cluster (the Host gets "-shadow" appended).

import type { RequestMirrorPolicy } from './bootstrap-types.js';
import { readRuntimeFraction } from './fraction.js';
import type { ClusterReference } from './route-action.js';
import type { ValueReader } from './yaml-reader.js';

function readMirrorPolicy(v: ValueReader, refs: ClusterReference[]): RequestMirrorPolicy | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const which = obj.oneOf(['cluster', 'cluster_header'], true);
  let cluster: string | undefined;
  if (which === 'cluster') {
    const f = obj.field('cluster');
    cluster = f.nonEmptyString();
    if (cluster !== undefined) refs.push({ name: cluster, at: f });
  } else if (which === 'cluster_header') {
    obj.field('cluster_header').problem('is not supported (name the mirror cluster with cluster)');
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
  if (cluster === undefined || fraction === undefined || noSuffix === true || (noSuffix === undefined && !suffix.missing)) return undefined;
  return { cluster, fraction };
}

/** RouteAction.request_mirror_policies; mirror clusters are appended to refs (they must exist, like route clusters). */
export function readMirrorPolicies(v: ValueReader, refs: ClusterReference[]): RequestMirrorPolicy[] | undefined {
  return v.listOf((item) => readMirrorPolicy(item, refs));
}
