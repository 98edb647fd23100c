// The ReferenceSink a Check evaluates with: it records each attribute (and map
// key) the rules read and how (present and its exact value, absent, or only
// matched by a regex), once, and writes them as the Check answer's
// ReferencedAttributes: the proxy's check-cache key is made of exactly these.

export type ReferenceCondition = 'ABSENCE' | 'EXACT' | 'REGEX';

export interface AttributeMatch {
  readonly name: string;
  readonly condition: ReferenceCondition;
  readonly map_key: string;
}

/** Bounds what one Check can make the recorder hold (a rule set reads a fixed set of names; map keys come from the rules too). */
const MAX_REFERENCES = 1024;

export class ReferenceRecorder {
  private readonly seen = new Map<string, AttributeMatch>();

  /** Called by expression evaluation for every read. EXACT beats REGEX for the same key (the cache must then key on the value). */
  reference(name: string, mapKey: string, condition: ReferenceCondition): void {
    const key = `${name}\u0000${mapKey}`;
    const previous = this.seen.get(key);
    if (previous !== undefined) {
      if (previous.condition === 'REGEX' && condition === 'EXACT') this.seen.set(key, { name, condition, map_key: mapKey });
      return;
    }
    if (this.seen.size >= MAX_REFERENCES) return;
    this.seen.set(key, { name, condition, map_key: mapKey });
  }

  /** The recorded matches, sorted by name then map key (a stable answer for the same rules). */
  matches(): AttributeMatch[] {
    return [...this.seen.values()].sort((a, b) => (a.name === b.name ? (a.map_key < b.map_key ? -1 : a.map_key > b.map_key ? 1 : 0) : a.name < b.name ? -1 : 1));
  }

  get size(): number {
    return this.seen.size;
  }
}
