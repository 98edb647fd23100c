// Prometheus counter families read from a counter table (an Int32Array the
// workers bump with Atomics): the policy filter's and tracing's share this.

/** One family: its name, its slot in the table, its help text. */
export type CounterFamily = readonly [name: string, slot: number, help: string];

/** takes a table and its families; returns their Prometheus text. */
export function renderCounterFamilies(t: Int32Array, families: readonly CounterFamily[]): string {
  let out = '';
  for (const [name, slot, help] of families) out += `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${Atomics.load(t, slot)}\n`;
  return out;
}
