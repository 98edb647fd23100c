// The bootstrap's layered_runtime: static layers (nested maps flattened to
// Envoy's dotted keys, later layers win) and an admin_layer. Keys the proxy
// knows are honoured; the agent lists the others, and the disk / RTDS layers
// it does not read, in one warning line.

import type { RuntimeConfig } from './bootstrap-types.js';
import type { ValueReader } from './yaml-reader.js';

/** Keys this proxy honours (Envoy's names), and what they mean here. */
export const KNOWN_RUNTIME_KEYS: Readonly<Record<string, string>> = {
  'overload.global_downstream_max_connections': 'caps downstream connections across all listeners (as --max-connections; read at startup)',
};
/** A runtime with thousands of keys is a mistake: bounded, as every config input is. */
const MAX_KEYS = 4096;

function flatten(prefix: string, value: unknown, out: Map<string, unknown>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(prefix === '' ? k : `${prefix}.${k}`, v, out);
  } else if (out.size < MAX_KEYS || out.has(prefix)) {
    out.set(prefix, value);
  }
}

/** config.bootstrap.v3.LayeredRuntime; undefined after reporting a problem. */
export function readLayeredRuntime(v: ValueReader): RuntimeConfig | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const values = new Map<string, unknown>();
  const names = new Set<string>();
  const unread: string[] = [];
  let ok = true;
  for (const item of obj.field('layers').list()) {
    const layer = item.object();
    if (layer === undefined) {
      ok = false;
      continue;
    }
    const nameField = layer.field('name');
    nameField.require();
    const name = nameField.nonEmptyString();
    if (name !== undefined && names.has(name)) {
      nameField.problem(`repeats layer name "${name}"`);
      ok = false;
    }
    if (name !== undefined) names.add(name);
    const kinds = ['static_layer', 'admin_layer', 'disk_layer', 'rtds_layer'].filter((k) => layer.has(k));
    if (kinds.length !== 1) {
      item.problem('must set exactly one of static_layer, disk_layer, admin_layer, rtds_layer');
      ok = false;
    }
    const staticField = layer.field('static_layer');
    if (!staticField.missing) {
      const plain = staticField.plain();
      if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
        staticField.problem('must be a map of runtime keys');
        ok = false;
      } else {
        flatten('', plain, values);
      }
    }
    // The admin layer holds what /runtime_modify sets: accepted empty (this proxy's admin API has no /runtime_modify).
    const adminField = layer.field('admin_layer');
    if (!adminField.missing) adminField.object()?.done();
    // Layers this proxy cannot read (a runtime directory, RTDS): accepted as Envoy starts without them, named in the warning.
    for (const kind of ['disk_layer', 'rtds_layer'] as const) {
      const f = layer.field(kind);
      if (f.missing) continue;
      f.plain();
      unread.push(`${name ?? '(unnamed)'} (${kind})`);
    }
    layer.done();
  }
  obj.done();
  if (!ok) return undefined;
  let globalDownstreamMaxConnections: number | null = null;
  const max = values.get('overload.global_downstream_max_connections');
  if (max !== undefined) {
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 1 << 24) {
      v.problem(`sets overload.global_downstream_max_connections to ${JSON.stringify(max)}; it must be an integer from 0 to ${1 << 24}`);
      return undefined;
    }
    globalDownstreamMaxConnections = max;
  }
  const ignoredKeys = [...values.keys()].filter((k) => !Object.hasOwn(KNOWN_RUNTIME_KEYS, k)).sort();
  return { globalDownstreamMaxConnections, ignoredKeys, unreadLayers: unread };
}
