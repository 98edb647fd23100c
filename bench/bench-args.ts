// Flags of the stand-alone bench scripts run with `node dist/bench/X.js --flag value`
// (mesh-pingpong, mesh-alloc): read from process.argv, refused with a message naming the flag.

/** takes a flag (`--requests`), its default and bounds; returns its integer value (throws when not one within them). */
export function numberArg(name: string, fallback: number, min: number, max: number): number {
  const i = process.argv.indexOf(name);
  const value = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

/** takes a flag; returns its value, undefined when absent (throws when the flag has no value). */
export function stringArg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const value = process.argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}
