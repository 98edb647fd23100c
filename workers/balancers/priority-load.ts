// Envoy's priority load and panic rules (LoadBalancerBase::
// recalculatePerPriorityState / recalculatePerPriorityPanic), computed when a
// cluster's host set is rebuilt. A priority's health is
// min(100, overprovisioning_factor x healthy / total); priorities take load
// in order until 100 is handed out (the rest spills to the next priority);
// when all healths together are below 100 the load is normalized over them.
// A priority whose healthy share is below healthy_panic_threshold is in
// panic: it balances over all its hosts, ignoring health. When every
// priority is in panic, load follows the number of hosts.

export interface PriorityPlan {
  /** Percent of requests per priority; sums to 100. */
  readonly load: readonly number[];
  /** Per priority: in panic (use all hosts, healthy or not). */
  readonly panic: readonly boolean[];
}

/**
 * `total[p]` and `healthy[p]`: host counts per priority (index = priority).
 * `overprovisioningFactor` in percent (140 = Envoy's 1.4); `panicThreshold` in percent (0 disables panic).
 */
export function planPriorities(
  total: readonly number[],
  healthy: readonly number[],
  overprovisioningFactor: number,
  panicThreshold: number,
): PriorityPlan {
  const n = total.length;
  const load = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);
  if (n === 0) return { load, panic };
  const health = total.map((t, p) => (t === 0 ? 0 : Math.min(100, Math.floor((overprovisioningFactor * healthy[p]!) / t))));
  const normalizedTotal = Math.min(100, health.reduce((a, b) => a + b, 0));
  const threshold = Math.min(100, panicThreshold);
  if (normalizedTotal > 0) {
    let remaining = 100;
    let firstAvailable = -1;
    for (let p = 0; p < n; p++) {
      if (firstAvailable < 0 && health[p]! > 0) firstAvailable = p;
      load[p] = Math.min(remaining, Math.floor((health[p]! * 100) / normalizedTotal));
      remaining -= load[p]!;
    }
    load[firstAvailable]! += remaining; // rounding leftovers go to the first priority with healthy hosts
  } else if (threshold === 0) {
    load[0] = 100; // nothing healthy and panic disabled: priority 0 gets it all (and has no usable host)
    return { load, panic };
  }
  if (threshold === 0) return { load, panic };
  let totalPanic = true;
  for (let p = 0; p < n; p++) {
    const t = total[p]!;
    panic[p] = (t === 0 ? 0 : (100 * healthy[p]!) / t) < threshold;
    totalPanic &&= panic[p]!;
  }
  if (totalPanic) {
    // Every level in panic: spread by host count, healthy or not.
    const hosts = total.reduce((a, b) => a + b, 0);
    load.fill(0);
    if (hosts === 0) {
      load[0] = 100;
      return { load, panic };
    }
    let remaining = 100;
    let firstNonEmpty = -1;
    for (let p = 0; p < n; p++) {
      if (firstNonEmpty < 0 && total[p]! > 0) firstNonEmpty = p;
      load[p] = Math.floor((100 * total[p]!) / hosts);
      remaining -= load[p]!;
    }
    load[firstNonEmpty]! += remaining;
  }
  return { load, panic };
}
