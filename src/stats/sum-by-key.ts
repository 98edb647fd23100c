// Sums numeric fields of rows that share a string key (a cluster name, a stat
// prefix): how the agent merges what each worker reports.

/** Compares by UTF-16 code units, so the order does not depend on the locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

type Row<K extends string, F extends string> = { [P in K]: string } & { [P in F]: number };

/** One row per distinct `key` value with each of `fields` summed (other fields dropped), sorted by the key. */
export function sumByKey<K extends string, F extends string>(rows: Iterable<Readonly<Row<K, F>>>, key: K, fields: readonly F[]): Row<K, F>[] {
  const byKey = new Map<string, Row<K, F>>();
  for (const row of rows) {
    let into = byKey.get(row[key]);
    if (into === undefined) {
      into = { [key]: row[key] } as Row<K, F>;
      for (const f of fields) (into as Record<F, number>)[f] = 0;
      byKey.set(row[key], into);
    }
    for (const f of fields) (into as Record<F, number>)[f] += row[f];
  }
  return [...byKey.values()].sort((a, b) => compareStrings(a[key], b[key]));
}
