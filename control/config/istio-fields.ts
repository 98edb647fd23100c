// Readers for the small value types Istio's networking API repeats: Go-style
// durations, Percent, StringMatch, label maps, host names. Built on the
// located readers of src/config/yaml-reader.ts, so each problem carries the
// file, line and field path, and reading goes on after one.

import { isMap, isScalar, type Node } from 'yaml';
import { checkRe2, ISTIO_MAX_PROGRAM_SIZE } from '../../src/config/re2-regex.js';
import { ValueReader } from '../../src/config/yaml-reader.js';
import type { HostName, IstioStringMatch } from './istio-types.js';

/** What a spec reader needs besides the YAML: the namespace short names resolve against, and where to note lines. */
export interface SpecContext {
  readonly namespace: string;
  /** Field path -> line, for the fields later checks point at (see SourceRef.fieldLines). */
  readonly fieldLines: Record<string, number>;
}

/** Notes the line of v (when present) under its path. */
export function markLine(cx: SpecContext, v: ValueReader): void {
  if (v.node?.range) cx.fieldLines[v.path] = v.ctx.problems.lineOf(v.node.range[0]);
}

const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:h|m|s|ms|us|µs|ns))+$/;
const GO_DURATION_PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };
/** Ten years: anything longer is a typo, and keeps the arithmetic exact. */
const MAX_DURATION_MS = 315_360_000_000;

/** Takes Go-style duration text ("10s", "1.5s", "250ms", "1m30s"); returns milliseconds or null. */
export function parseGoDuration(text: string): number | null {
  if (!GO_DURATION.test(text)) return null;
  let ms = 0;
  for (const m of text.matchAll(GO_DURATION_PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** A duration as Istio writes it, in ms; like Istio, at least 1ms (or 0 when allowZero) and whole milliseconds. */
export function readDurationMs(v: ValueReader, allowZero = false): number | undefined {
  if (v.node !== null && isScalar(v.node) && typeof v.node.value === 'number') {
    v.problem(`must be a duration with a unit, like "${v.node.value}s" or "${v.node.value}ms"`);
    return undefined;
  }
  const text = v.string();
  if (text === undefined) return undefined;
  const ms = parseGoDuration(text);
  if (ms === null) {
    v.problem(`must be a duration like "10s", "1.5s", "250ms" or "1m" (got "${text}")`);
    return undefined;
  }
  if (ms === 0 && allowZero) return 0;
  if (ms < 1) {
    v.problem('must be at least 1ms');
    return undefined;
  }
  // Decimal seconds are not exact in binary: round away the float noise before the precision check.
  const rounded = Math.round(ms * 1e6) / 1e6;
  if (!Number.isInteger(rounded) || rounded > MAX_DURATION_MS) {
    v.problem(rounded > MAX_DURATION_MS ? 'is too large' : 'must be a whole number of milliseconds');
    return undefined;
  }
  return rounded;
}

/** A number (integer or not) in [min, max]. */
export function readNumber(v: ValueReader, min: number, max: number): number | undefined {
  if (v.node === null) return undefined;
  const raw = isScalar(v.node) ? v.node.value : undefined;
  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    v.problem('must be a number');
    return undefined;
  }
  if (raw < min || raw > max) {
    v.problem(`must be between ${min} and ${max}`);
    return undefined;
  }
  return raw;
}

/** Istio's Percent message: `{value: 12.5}`, 0..100. */
export function readPercent(v: ValueReader): number | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const field = obj.field('value');
  field.require();
  const value = readNumber(field, 0, 100);
  obj.done();
  return value;
}

/** A list of strings (empty when missing); each item checked by `check` when given. */
/** A required list that must not be empty (`hosts`): its items, with the problem recorded when missing or empty. */
export function readRequiredList(v: ValueReader, what: string): ValueReader[] {
  v.require();
  const items = v.list();
  if (!v.missing && items.length === 0) v.problem(`must list at least one ${what}`);
  return items;
}

export function readStringList(v: ValueReader, check?: (item: ValueReader, text: string) => string | undefined): string[] {
  const out: string[] = [];
  for (const item of v.list()) {
    const text = item.nonEmptyString();
    if (text === undefined) continue;
    const checked = check === undefined ? text : check(item, text);
    if (checked !== undefined) out.push(checked);
  }
  return out;
}

/**
 * A map with free keys (labels, annotations, endpoint ports). Calls read(keyPath reader, key) for
 * each entry; keys that are not plain strings are reported. Paths use `field["key"]` when the key
 * has characters a dotted path would blur.
 */
export function readFreeMap<T>(v: ValueReader, read: (value: ValueReader, key: string) => T | undefined): Record<string, T> {
  const out: Record<string, T> = {};
  if (v.node === null) return out;
  if (!isMap(v.node)) {
    v.problem('must be a map');
    return out;
  }
  for (const pair of v.node.items) {
    const keyNode = pair.key as Node;
    const key = isScalar(keyNode) ? keyNode.value : undefined;
    if (typeof key !== 'string' || key === '') {
      v.ctx.problems.add(keyNode, v.path, 'has a key that is not a non-empty string');
      continue;
    }
    const path = /^[A-Za-z0-9_-]+$/.test(key) ? `${v.path}.${key}` : `${v.path}[${JSON.stringify(key)}]`;
    const valueNode = v.resolve(pair.value as Node | null);
    const reader = new ValueReader(v.ctx, valueNode, path, keyNode);
    if (valueNode === null) {
      reader.problem('must have a value');
      continue;
    }
    const value = read(reader, key);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Kubernetes label key: optional `dns.prefix/` then a name of at most 63 characters. */
function labelKeyProblem(key: string): string | null {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? null : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== null && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `has a label key with a bad prefix: "${key}"`;
  if (!LABEL_NAME.test(name)) return `has a label key that is not a valid label name: "${key}"`;
  return null;
}

/** Labels: keys and values as Kubernetes allows them. */
export function readLabels(v: ValueReader): Record<string, string> {
  return readFreeMap(v, (value, key) => {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== null) {
      value.problem(keyProblem);
      return undefined;
    }
    const text = value.string();
    if (text !== undefined && text !== '' && !LABEL_NAME.test(text)) {
      value.problem(`is not a valid label value: "${text}" (at most 63 letters, digits, '-', '_' or '.')`);
      return undefined;
    }
    return text;
  });
}

/** Annotations: any string values. */
export function readAnnotations(v: ValueReader): Record<string, string> {
  return readFreeMap(v, (value) => value.string());
}

/** A DNS-1123 label (namespaces, subset names). */
export function readDnsLabel(v: ValueReader): string | undefined {
  const text = v.nonEmptyString();
  if (text !== undefined && !DNS_LABEL.test(text)) {
    v.problem(`must be a DNS label (lowercase letters, digits and '-', at most 63): "${text}"`);
    return undefined;
  }
  return text;
}

/** A DNS-1123 subdomain (resource names). */
export function readDnsSubdomain(v: ValueReader): string | undefined {
  const text = v.nonEmptyString();
  if (text !== undefined && (text.length > 253 || !DNS_SUBDOMAIN.test(text))) {
    v.problem(`must be lowercase letters, digits, '-' and '.', at most 253: "${text}"`);
    return undefined;
  }
  return text;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpAddress(text: string): boolean {
  return IPV4.test(text) || (text.includes(':') && /^[0-9a-fA-F:.]+$/.test(text));
}

const HOST_LABEL = /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;

/** Istio's ResolveShortnameToFQDN: a name without a dot gets `.<namespace>.svc.cluster.local`. */
export function resolveHost(written: string, namespace: string): string {
  const host = written.toLowerCase();
  if (host === '*' || host.includes('.') || isIpAddress(host)) return host;
  return `${host}.${namespace}.svc.cluster.local`;
}

/** Why text is not a host name (a `*.` wildcard prefix allowed when wildcard), or null. */
export function hostNameProblem(text: string, wildcard: boolean): string | null {
  if (text === '*') return wildcard ? null : 'must not be "*"';
  const labels = text.toLowerCase().split('.');
  const bad = labels.findIndex((l, i) => !HOST_LABEL.test(l) || (l === '*' && (i > 0 || !wildcard)));
  if (bad >= 0 || text.length > 253) return `is not a valid host name: "${text}"`;
  return null;
}

/** A host name (a `*.` prefix allowed when wildcard), resolved against the resource's namespace; its line noted for later checks. */
export function readHost(v: ValueReader, cx: SpecContext, wildcard: boolean): HostName | undefined {
  const text = v.nonEmptyString();
  if (text === undefined) return undefined;
  // A bare "*" (every host) is meaningful only for gateways and Sidecar egress, not here.
  const problem = text === '*' ? 'must not be "*" (name the hosts)' : isIpAddress(text) ? null : hostNameProblem(text, wildcard);
  if (problem !== null) {
    v.problem(problem);
    return undefined;
  }
  markLine(cx, v);
  return { written: text, fqdn: resolveHost(text, cx.namespace) };
}

const STRING_MATCH_KINDS = ['exact', 'prefix', 'regex'] as const;

/** Istio's StringMatch: exactly one of exact, prefix, regex (RE2, whole value). */
export function readIstioStringMatch(v: ValueReader): IstioStringMatch | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const kind = obj.oneOf(STRING_MATCH_KINDS, true);
  let result: IstioStringMatch | undefined;
  if (kind !== null && kind !== undefined) {
    const field = obj.field(kind);
    const value = kind === 'exact' ? field.string() : field.nonEmptyString();
    const problem = kind === 'regex' && value !== undefined ? checkRe2(value, ISTIO_MAX_PROGRAM_SIZE) : null;
    if (problem !== null) field.problem(problem);
    else if (value !== undefined) result = { kind, value };
  }
  obj.done();
  return result;
}
