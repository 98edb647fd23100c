// http_connection_manager.tracing (Envoy v3 HttpConnectionManager.Tracing)
// with the one provider this proxy has, envoy.tracers.zipkin
// (config.trace.v3.ZipkinConfig) reporting Zipkin v2 JSON (HTTP_JSON):
// read and checked once into a frozen TracingConfig. Fields outside the
// subset are refused by name; so is every collector_endpoint_version but
// HTTP_JSON (the proxy only writes v2 JSON).
import type { ClusterReference } from './route-action.js';
import { readTypedConfig } from './typed-config.js';
import type { ObjectReader, ValueReader } from './yaml-reader.js';

export const ZIPKIN_TRACER_NAME = 'envoy.tracers.zipkin';
export const ZIPKIN_CONFIG_TYPE_URL = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';
/** Envoy's default max_path_tag_length. */
export const DEFAULT_MAX_PATH_TAG_LENGTH = 256;

/** A custom_tags entry: a literal value, or a request header's (default_value when the request has none). */
export type CustomTag =
  | { readonly tag: string; readonly kind: 'literal'; readonly value: string }
  | { readonly tag: string; readonly kind: 'request_header'; readonly header: string; readonly defaultValue: string };

export interface ZipkinProvider {
  readonly collectorCluster: string;
  readonly collectorEndpoint: string;
  /** collector_hostname: the Host of the report request ('' = the cluster's name, as Envoy does). */
  readonly collectorHostname: string;
  readonly traceId128bit: boolean;
  /** shared_span_context (default true): an inbound span takes the id of the caller's client span. */
  readonly sharedSpanContext: boolean;
}

export interface TracingConfig {
  readonly zipkin: ZipkinProvider;
  /** Percentages in [0, 100] (Envoy's default for each: 100). */
  readonly randomSampling: number;
  readonly clientSampling: number;
  readonly overallSampling: number;
  readonly spawnUpstreamSpan: boolean;
  readonly maxPathTagLength: number;
  readonly customTags: readonly CustomTag[];
  /** The listener's traffic_direction: INBOUND makes SERVER spans, anything else CLIENT spans (Envoy's ingress/egress). */
  readonly inbound: boolean;
}

/** type.v3.Percent: `{ value: 0..100 }`; `fallback` when the field is absent. */
function readPercent(v: ValueReader, fallback: number): number | undefined {
  if (v.missing) return fallback;
  const obj = v.object();
  if (obj === undefined) return undefined;
  const value = obj.field('value').number(0, 100) ?? (obj.has('value') ? undefined : 0);
  obj.done();
  return value;
}

function readZipkin(obj: ObjectReader, refs: ClusterReference[]): ZipkinProvider | undefined {
  const clusterField = obj.field('collector_cluster');
  clusterField.require();
  const collectorCluster = clusterField.nonEmptyString();
  if (collectorCluster !== undefined) refs.push({ name: collectorCluster, at: clusterField });
  const endpointField = obj.field('collector_endpoint');
  endpointField.require();
  let collectorEndpoint = endpointField.nonEmptyString();
  if (collectorEndpoint !== undefined && !/^\/[\x21-\x7e]*$/.test(collectorEndpoint)) {
    endpointField.problem('must be a path starting with "/" (no spaces or control characters)');
    collectorEndpoint = undefined;
  }
  const versionField = obj.field('collector_endpoint_version');
  let versionOk = true;
  if (!versionField.missing) {
    const version = versionField.string();
    if (version !== 'HTTP_JSON') {
      if (version !== undefined) versionField.problem(`is ${version}; only HTTP_JSON (Zipkin v2 JSON) is supported`);
      versionOk = false;
    }
  } else {
    // Envoy's default is the removed v1 JSON (HTTP_JSON_V1 / DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE): say what to write.
    versionField.problem('must be set to HTTP_JSON (Zipkin v2 JSON, the only format this proxy reports)');
    versionOk = false;
  }
  const hostField = obj.field('collector_hostname');
  let collectorHostname = hostField.missing ? '' : hostField.nonEmptyString();
  if (collectorHostname !== undefined && !/^[A-Za-z0-9.:[\]_-]*$/.test(collectorHostname)) {
    hostField.problem('must be a host name (letters, digits, ".", "-", ":")');
    collectorHostname = undefined;
  }
  // Without collector_hostname the cluster's name is the report's Host (as in Envoy): it must be fit for a header line.
  const clusterAsHostBad = collectorHostname === '' && collectorCluster !== undefined && !/^[\x21-\x7e]+$/.test(collectorCluster);
  if (clusterAsHostBad) {
    clusterField.problem('is the report\'s Host when collector_hostname is unset, so it must be visible ASCII (no spaces or control characters); set collector_hostname');
  }
  const traceId128bit = obj.field('trace_id_128bit').bool() ?? false;
  const sharedSpanContext = obj.field('shared_span_context').bool() ?? true;
  obj.done();
  if (collectorCluster === undefined || clusterAsHostBad || collectorEndpoint === undefined || !versionOk || collectorHostname === undefined) return undefined;
  return { collectorCluster, collectorEndpoint, collectorHostname, traceId128bit, sharedSpanContext };
}

/** provider: `{ name: envoy.tracers.zipkin, typed_config: ZipkinConfig }`. */
function readProvider(v: ValueReader, refs: ClusterReference[]): ZipkinProvider | undefined {
  v.require();
  const obj = v.object();
  if (obj === undefined) return undefined;
  const nameField = obj.field('name');
  nameField.require();
  const name = nameField.string();
  const typed = obj.field('typed_config');
  typed.require();
  let zipkin: ZipkinProvider | undefined;
  if (name !== undefined && name !== ZIPKIN_TRACER_NAME) {
    nameField.problem(`names "${name}"; the supported tracer is ${ZIPKIN_TRACER_NAME}`);
  } else if (!typed.missing) {
    const zobj = readTypedConfig(typed, ZIPKIN_CONFIG_TYPE_URL);
    if (zobj !== undefined) zipkin = readZipkin(zobj, refs);
  }
  obj.done();
  return name === undefined ? undefined : zipkin;
}

const TAG_NAME = /^[\x21-\x7e]{1,256}$/;

function readCustomTags(v: ValueReader): CustomTag[] | undefined {
  const tags: CustomTag[] = [];
  let ok = true;
  for (const item of v.list()) {
    const obj = item.object();
    if (obj === undefined) {
      ok = false;
      continue;
    }
    const tagField = obj.field('tag');
    tagField.require();
    const tag = tagField.nonEmptyString();
    if (tag !== undefined && !TAG_NAME.test(tag)) tagField.problem('must be 1-256 visible ASCII characters');
    const kind = obj.oneOf(['literal', 'request_header'] as const, true);
    let entry: CustomTag | undefined;
    if (kind === 'literal') {
      const lit = obj.field('literal').object();
      const value = lit?.field('value').string();
      lit?.done();
      if (tag !== undefined && value !== undefined) entry = { tag, kind, value };
    } else if (kind === 'request_header') {
      const rh = obj.field('request_header').object();
      const nameField = rh?.field('name');
      nameField?.require();
      const header = nameField?.nonEmptyString()?.toLowerCase();
      const defaultValue = rh?.field('default_value').string() ?? '';
      rh?.done();
      if (tag !== undefined && header !== undefined) entry = { tag, kind, header, defaultValue };
    }
    obj.done();
    if (entry === undefined || !TAG_NAME.test(entry.tag)) ok = false;
    else tags.push(entry);
  }
  return ok ? tags : undefined;
}

/** http_connection_manager.tracing; null when absent, undefined after reporting a problem. `inbound`: the listener's direction. */
export function readTracingConfig(v: ValueReader, refs: ClusterReference[], inbound: boolean): TracingConfig | null | undefined {
  if (v.missing) return null;
  const obj = v.object();
  if (obj === undefined) return undefined;
  const zipkin = readProvider(obj.field('provider'), refs);
  const randomSampling = readPercent(obj.field('random_sampling'), 100);
  const clientSampling = readPercent(obj.field('client_sampling'), 100);
  const overallSampling = readPercent(obj.field('overall_sampling'), 100);
  const spawnUpstreamSpan = obj.field('spawn_upstream_span').bool() ?? false;
  // verbose adds per-event annotations in Envoy; this proxy reports one span per request either way.
  obj.field('verbose').bool();
  const lengthField = obj.field('max_path_tag_length');
  const maxPathTagLength = lengthField.missing ? DEFAULT_MAX_PATH_TAG_LENGTH : lengthField.integer(1, 65_536);
  const customTags = readCustomTags(obj.field('custom_tags'));
  obj.done();
  if (zipkin === undefined || randomSampling === undefined || clientSampling === undefined || overallSampling === undefined
    || maxPathTagLength === undefined || customTags === undefined) return undefined;
  return Object.freeze({
    zipkin: Object.freeze(zipkin),
    randomSampling,
    clientSampling,
    overallSampling,
    spawnUpstreamSpan,
    maxPathTagLength,
    customTags: Object.freeze(customTags),
    inbound,
  });
}
