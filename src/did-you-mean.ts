// "Did you mean ...?" for a mistyped command, option or config field: the
// closest known name by edit distance (fastest-levenshtein), offered only
// when it is close enough to be the likely intent.
import { distance } from 'fastest-levenshtein';

/** Takes what was typed and the names that exist; returns the one meant, or undefined when none is close. */
export function closestName(typed: string, known: Iterable<string>): string | undefined {
  const lower = typed.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const d = distance(lower, name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  if (best === undefined) return undefined;
  // One edit per three characters (at least one, at most three): `prefx` -> `prefix`, not `a` -> `to`.
  const allowed = Math.min(3, Math.max(1, Math.floor(typed.length / 3)));
  return bestDistance <= allowed ? best : undefined;
}

/** " (did you mean 'X'?)" or ''. */
export function didYouMean(typed: string, known: Iterable<string>, quote = "'"): string {
  const name = closestName(typed, known);
  return name === undefined ? '' : `; did you mean ${quote}${name}${quote}?`;
}
