// Config objects are shared read-only between the parser, the store and the
// compiled tables; freezing them makes an accidental write fail loudly.

/** Freezes value and everything reachable from it; returns value. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
