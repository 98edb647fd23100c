// The ReferenceSink a Check evaluates with: it records each attribute (and map
// key) the rules read and how (present and its exact value, absent, or only
// matched by a regex), once, and writes them as the Check answer's
// ReferencedAttributes: the proxy's check-cache key is made of exactly these.
//
// A rule set reads a fixed handful of names and map keys, so every Check
// records one of a few reference sets. The matches are interned (one object
// per name, map key and condition) and each distinct set, in the order it was
// recorded, maps to one shared sorted array: a Check allocates nothing here
// (no key strings, no Map, no sort), and the answer encoder (encoded-answers.ts)
// can key its cache on the array's identity. Both tables are bounded: a rule
// reading a map key computed from request data (request.headers[source.user])
// would fill them, and then they start over (the shared arrays already given
// stay valid: they are never written).

export type ReferenceCondition = 'ABSENCE' | 'EXACT' | 'REGEX';

/** What a redirect records into. */
export interface ReferenceSinkLike {
  reference(name: string, mapKey: string, condition: ReferenceCondition): void;
}

/**
 * A bag some of whose attributes the control plane computes from others (workload-attribute-bag.ts): a read of one
 * is recorded as reads of its inputs, the attributes the proxy has and its cache can key on.
 */
export interface ReferenceRedirect {
  /** takes a name read; when it is derived, records its inputs into sink and returns true; else false. */
  redirect(name: string, sink: ReferenceSinkLike): boolean;
}

export interface AttributeMatch {
  readonly name: string;
  readonly condition: ReferenceCondition;
  readonly map_key: string;
}

/** Bounds what one Check can make the recorder hold (a rule set reads a fixed set of names; map keys come from the rules too). */
const MAX_REFERENCES = 1024;
/** Interned (name, map key) pairs: a map key computed from request data could otherwise grow the table without end. */
export const MAX_INTERNED_MATCHES = 4096;
/** Distinct reference sets (trie nodes) kept. */
export const MAX_REFERENCE_SETS = 4096;
/** Up to this many recorded references a repeat is found by a scan; past it, through an index. */
const SCAN_LIMIT = 16;

/** The three matches of one (name, map key): indexes 0 ABSENCE, 1 EXACT, 2 REGEX. */
type MatchTriple = readonly [AttributeMatch, AttributeMatch, AttributeMatch];

const CONDITION_INDEX: Readonly<Record<ReferenceCondition, number>> = { ABSENCE: 0, EXACT: 1, REGEX: 2 };

const interned = new Map<string, Map<string, MatchTriple>>();
let internedCount = 0;

function triple(name: string, mapKey: string): MatchTriple {
  return Object.freeze([
    Object.freeze({ name, condition: 'ABSENCE', map_key: mapKey }),
    Object.freeze({ name, condition: 'EXACT', map_key: mapKey }),
    Object.freeze({ name, condition: 'REGEX', map_key: mapKey }),
  ]) as MatchTriple;
}

/** takes a name and map key; returns the interned triple. */
function matchesOf(name: string, mapKey: string): MatchTriple {
  let byKey = interned.get(name);
  let found = byKey?.get(mapKey);
  if (found !== undefined) return found;
  found = triple(name, mapKey);
  if (internedCount >= MAX_INTERNED_MATCHES) {
    startOver();
    byKey = undefined;
  }
  if (byKey === undefined) interned.set(name, (byKey = new Map()));
  byKey.set(mapKey, found);
  internedCount++;
  return found;
}

/** takes a match (any object of that shape); returns the interned one with its name, map key and condition. */
export function internMatch(m: AttributeMatch): AttributeMatch {
  return matchesOf(m.name, m.map_key)[CONDITION_INDEX[m.condition] ?? 1]!;
}

/** A node of the reference-set trie: the matches recorded so far, in recording order, lead here. */
interface SetNode {
  readonly next: Map<AttributeMatch, SetNode>;
  sorted: readonly AttributeMatch[] | null;
}

const byName = (a: AttributeMatch, b: AttributeMatch): number => (a.name === b.name ? (a.map_key < b.map_key ? -1 : a.map_key > b.map_key ? 1 : 0) : a.name < b.name ? -1 : 1);

const root: SetNode = { next: new Map(), sorted: null };
let setNodes = 0;

/** Empties both tables (full): what they gave out stays valid; later sets are interned afresh. */
function startOver(): void {
  interned.clear();
  internedCount = 0;
  root.next.clear();
  setNodes = 0;
}
const EMPTY: readonly AttributeMatch[] = Object.freeze([]);

/** takes interned matches; returns the trie node they lead to (null: the trie is full). */
function nodeOf(list: readonly AttributeMatch[], count: number): SetNode | null {
  let node = root;
  for (let i = 0; i < count; i++) {
    const m = list[i]!;
    let child = node.next.get(m);
    if (child === undefined) {
      if (setNodes >= MAX_REFERENCE_SETS) return null;
      child = { next: new Map(), sorted: null };
      node.next.set(m, child);
      setNodes++;
    }
    node = child;
  }
  return node;
}

/** takes matches (interned or not) and how many of them; returns the shared sorted array of that set (fresh when the trie is full). */
function canonical(list: readonly AttributeMatch[], count: number): readonly AttributeMatch[] {
  if (count === 0) return EMPTY;
  if (setNodes + 2 * count > MAX_REFERENCE_SETS) startOver();
  let node: SetNode | undefined = root;
  for (let i = 0; i < count && node !== undefined; i++) node = node.next.get(internMatch(list[i]!));
  if (node?.sorted) return node.sorted;
  // First time in this order: the set's array is the one its sorted order leads to, so every order shares it.
  const sorted = Object.freeze(list.slice(0, count).map(internMatch).sort(byName));
  const home = nodeOf(sorted, count);
  if (home === null) return sorted;
  home.sorted ??= sorted;
  const here = nodeOf(list.slice(0, count).map(internMatch), count);
  if (here !== null) here.sorted = home.sorted;
  return home.sorted;
}

/** takes a list of matches; returns the shared sorted array of the same set (what a recorder gives for it). */
export function canonicalReferences(list: readonly AttributeMatch[]): readonly AttributeMatch[] {
  return canonical(list, list.length);
}

export class ReferenceRecorder {
  /** recorded[0, count): the matches in recording order (interned). */
  private readonly recorded: AttributeMatch[] = [];
  private count = 0;
  /** Past SCAN_LIMIT references: position by name and map key. */
  private index: Map<string, number> | null = null;
  /** The Check's bag when it derives attributes (set per Check); null: every read is recorded as it is. */
  redirect: ReferenceRedirect | null = null;

  /** Forgets what was recorded: the recorder serves the next Check. */
  reset(): void {
    this.count = 0;
    this.index = null;
  }

  /** Called by expression evaluation for every read. EXACT beats REGEX for the same key (the cache must then key on the value). */
  reference(name: string, mapKey: string, condition: ReferenceCondition): void {
    if (this.redirect !== null && this.redirect.redirect(name, this)) return;
    const at = this.find(name, mapKey);
    if (at >= 0) {
      if (this.recorded[at]!.condition === 'REGEX' && condition === 'EXACT') this.recorded[at] = matchesOf(name, mapKey)[1];
      return;
    }
    if (this.count >= MAX_REFERENCES) return;
    if (this.index === null && this.count === SCAN_LIMIT) {
      this.index = new Map();
      for (let i = 0; i < this.count; i++) this.index.set(`${this.recorded[i]!.name}\u0000${this.recorded[i]!.map_key}`, i);
    }
    this.index?.set(`${name}\u0000${mapKey}`, this.count);
    this.recorded[this.count++] = matchesOf(name, mapKey)[CONDITION_INDEX[condition]]!;
  }

  /** takes a name and map key; returns where they were recorded in this Check (-1: not yet). */
  private find(name: string, mapKey: string): number {
    if (this.index !== null) return this.index.get(`${name}\u0000${mapKey}`) ?? -1;
    const r = this.recorded;
    for (let i = 0; i < this.count; i++) {
      const m = r[i]!;
      if (m.name === name && m.map_key === mapKey) return i;
    }
    return -1;
  }

  /** The recorded matches, sorted by name then map key (a stable answer for the same rules); a shared, frozen array. */
  matches(): readonly AttributeMatch[] {
    return canonical(this.recorded, this.count);
  }

  get size(): number {
    return this.count;
  }
}
