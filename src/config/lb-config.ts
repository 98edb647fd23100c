// How a cluster picks an endpoint: lb_policy with ring_hash_lb_config /
// maglev_lb_config, or load_balancing_policy (typed extension configs, where
// Isthmus's peak-EWMA balancer is selected), and common_lb_config's panic threshold.

import type { Cluster, LbPolicy } from './bootstrap-types.js';
import { readPercent } from './fraction.js';
import type { ObjectReader, ValueReader } from './yaml-reader.js';

const TYPE_PREFIX = 'type.googleapis.com/';
/** Isthmus's peak-EWMA balancer (Linkerd's), as a load_balancing_policy extension. */
export const PEAK_EWMA_TYPE_URL = `${TYPE_PREFIX}isthmus.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma`;
const POLICY_TYPES: Readonly<Record<string, LbPolicy>> = {
  [`${TYPE_PREFIX}envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin`]: 'ROUND_ROBIN',
  [`${TYPE_PREFIX}envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest`]: 'LEAST_REQUEST',
  [`${TYPE_PREFIX}envoy.extensions.load_balancing_policies.random.v3.Random`]: 'RANDOM',
  [`${TYPE_PREFIX}envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash`]: 'RING_HASH',
  [`${TYPE_PREFIX}envoy.extensions.load_balancing_policies.maglev.v3.Maglev`]: 'MAGLEV',
  [PEAK_EWMA_TYPE_URL]: 'PEAK_EWMA',
};
const LB_POLICIES: readonly LbPolicy[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'];
/** Envoy's ring bounds: default 1024 and 8M, neither above 8M. */
const MAX_RING_SIZE = 8_388_608;
/** Envoy's Maglev table: default 65537, at most 5000011, always prime. */
const MAX_MAGLEV_TABLE_SIZE = 5_000_011;

export type LbFields = Pick<Cluster, 'lbPolicy' | 'ringHash' | 'maglevTableSize' | 'peakEwmaDecayMs' | 'healthyPanicThresholdPercent' | 'localityWeighted'>;

export const DEFAULT_LB_FIELDS: LbFields = {
  lbPolicy: 'ROUND_ROBIN',
  ringHash: { minRingSize: 1024, maxRingSize: MAX_RING_SIZE },
  maglevTableSize: 65_537,
  peakEwmaDecayMs: 10_000, // Linkerd's default decay
  healthyPanicThresholdPercent: 50,
  localityWeighted: false,
};

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** minimum_ring_size / maximum_ring_size / hash_function (lb_policy's RingHashLbConfig and the RingHash extension). */
function readRingFields(obj: ObjectReader, out: Mutable<LbFields>, hashNames: readonly string[]): boolean {
  const minField = obj.field('minimum_ring_size');
  const min = minField.integer(1, MAX_RING_SIZE);
  const maxField = obj.field('maximum_ring_size');
  const max = maxField.integer(1, MAX_RING_SIZE);
  const hashField = obj.field('hash_function');
  const hash = hashField.missing ? hashNames[0] : hashField.enumOf([...hashNames, 'MURMUR_HASH_2']);
  if (hash === 'MURMUR_HASH_2') hashField.problem('MURMUR_HASH_2 is not supported (only XX_HASH)');
  obj.done();
  if ((min === undefined && !minField.missing) || (max === undefined && !maxField.missing) || hash === undefined || hash === 'MURMUR_HASH_2') return false;
  const ring = { minRingSize: min ?? DEFAULT_LB_FIELDS.ringHash.minRingSize, maxRingSize: max ?? DEFAULT_LB_FIELDS.ringHash.maxRingSize };
  if (ring.minRingSize > ring.maxRingSize) {
    maxField.problem(`must not be less than minimum_ring_size (${ring.minRingSize})`);
    return false;
  }
  out.ringHash = ring;
  return true;
}

function readTableSize(obj: ObjectReader, out: Mutable<LbFields>): boolean {
  const f = obj.field('table_size');
  const size = f.integer(1, MAX_MAGLEV_TABLE_SIZE);
  obj.done();
  if (size === undefined) return f.missing;
  if (!isPrime(size)) {
    f.problem(`must be a prime number (got ${size}; Envoy's default is 65537)`);
    return false;
  }
  out.maglevTableSize = size;
  return true;
}

/** The options of a recognised load_balancing_policy extension; false after reporting a problem. */
function readPolicyOptions(policy: LbPolicy, obj: ObjectReader, out: Mutable<LbFields>): boolean {
  switch (policy) {
    case 'RING_HASH':
      return readRingFields(obj, out, ['DEFAULT_HASH', 'XX_HASH']);
    case 'MAGLEV':
      return readTableSize(obj, out);
    case 'PEAK_EWMA': {
      const f = obj.field('decay');
      const decay = f.duration();
      obj.done();
      if (decay === undefined) return f.missing;
      if (decay <= 0) {
        f.problem('must be greater than 0');
        return false;
      }
      out.peakEwmaDecayMs = decay;
      return true;
    }
    default:
      obj.done(); // round robin, least request, random: no options supported
      return true;
  }
}

/**
 * cluster.v3.LoadBalancingPolicy: as in Envoy, the first policy whose type this
 * proxy implements is used (later ones are fallbacks for other proxies); none → a problem naming them.
 */
function readLoadBalancingPolicy(v: ValueReader, out: Mutable<LbFields>): boolean {
  const obj = v.object();
  if (obj === undefined) return false;
  const listField = obj.field('policies');
  listField.require();
  const seen: string[] = [];
  let chosen = false;
  let ok = true;
  for (const item of listField.list()) {
    if (chosen) continue;
    const policyObj = item.object();
    if (policyObj === undefined) {
      ok = false;
      continue;
    }
    const extField = policyObj.field('typed_extension_config');
    extField.require();
    const ext = extField.object();
    policyObj.done();
    if (ext === undefined) {
      ok = false;
      continue;
    }
    ext.field('name').string(); // a label only: the type URL selects the policy
    const typedField = ext.field('typed_config');
    typedField.require();
    const typed = typedField.object();
    ext.done();
    const typeField = typed?.field('@type');
    typeField?.require();
    const type = typeField?.string();
    if (typed === undefined || type === undefined) {
      ok = false;
      continue;
    }
    const policy = Object.hasOwn(POLICY_TYPES, type) ? POLICY_TYPES[type] : undefined;
    if (policy === undefined) {
      seen.push(type);
      continue;
    }
    chosen = true;
    out.lbPolicy = policy;
    if (!readPolicyOptions(policy, typed, out)) ok = false;
  }
  obj.done();
  if (!chosen && ok && !listField.missing) {
    listField.problem(`names no load balancing policy this proxy implements (got ${seen.join(', ') || 'none'}; supported: ${Object.keys(POLICY_TYPES).join(', ')})`);
    return false;
  }
  return ok && chosen;
}

/** cluster.v3.Cluster.CommonLbConfig: healthy_panic_threshold and locality_weighted_lb_config. */
function readCommonLbConfig(v: ValueReader, out: Mutable<LbFields>): boolean {
  const obj = v.object();
  if (obj === undefined) return false;
  const f = obj.field('healthy_panic_threshold');
  const percent = f.missing ? DEFAULT_LB_FIELDS.healthyPanicThresholdPercent : readPercent(f);
  const localityField = obj.field('locality_weighted_lb_config');
  if (!localityField.missing) {
    // An empty message: its presence turns the feature on.
    localityField.object()?.done();
    out.localityWeighted = true;
  }
  obj.done();
  if (percent === undefined) return false;
  out.healthyPanicThresholdPercent = percent;
  return true;
}

/** The balancer fields of a cluster (lb_policy and friends); undefined after reporting a problem. */
export function readLbFields(obj: ObjectReader): LbFields | undefined {
  const out: Mutable<LbFields> = { ...DEFAULT_LB_FIELDS };
  let ok = true;
  const lbField = obj.field('lb_policy');
  const lbPolicy = lbField.missing ? 'ROUND_ROBIN' : lbField.enumOf(LB_POLICIES);
  if (lbPolicy === undefined) ok = false;
  else out.lbPolicy = lbPolicy;
  const ringField = obj.field('ring_hash_lb_config');
  const ring = ringField.object();
  if (ring !== undefined && !readRingFields(ring, out, ['XX_HASH'])) ok = false;
  const maglevField = obj.field('maglev_lb_config');
  const maglev = maglevField.object();
  if (maglev !== undefined && !readTableSize(maglev, out)) ok = false;
  if ((!ringField.missing && ring === undefined) || (!maglevField.missing && maglev === undefined)) ok = false;
  // As in Envoy, load_balancing_policy (when set) wins over lb_policy.
  const policyField = obj.field('load_balancing_policy');
  if (!policyField.missing && !readLoadBalancingPolicy(policyField, out)) ok = false;
  const commonField = obj.field('common_lb_config');
  if (!commonField.missing && !readCommonLbConfig(commonField, out)) ok = false;
  return ok ? out : undefined;
}
