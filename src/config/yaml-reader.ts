// Typed, located reads over a parsed YAML document. Every read that fails
// records a problem (file, line, path) and returns undefined instead of
// throwing, so one pass over a file reports every problem in it. An object
// reader remembers which keys were read; `done()` reports the rest as
// unsupported, which is how "any field outside the subset is an error" holds
// without a second list of field names to keep in sync.

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { closestName } from '../did-you-mean.js';
import type { ConfigProblem } from './config-error.js';
import { MAX_DURATION_SECONDS, durationFromParts, parseDurationText } from './duration.js';

/** Paths longer than this are shown from their nearest named object (`virtual host "shop" › routes[0].match.prefx`). */
const LONG_PATH = 100;

/** List fields whose items a person names (Envoy's and Istio's), and what to call an item. */
const NAMED_KINDS: Readonly<Record<string, string>> = {
  listeners: 'listener', clusters: 'cluster', virtual_hosts: 'virtual host', routes: 'route', http: 'http route',
};

export class ProblemList {
  readonly problems: ConfigProblem[] = [];
  /** Path of each object that has a `name` -> how to call it (`cluster "backend"`). */
  private readonly named = new Map<string, string>();

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  /** Records `<path> <message>` at the line where node starts (no line when node is null); returns its index. */
  add(node: Node | null, path: string, message: string): number {
    const line = node?.range ? this.lineOf(node.range[0]) : null;
    const shown = this.shownPath(path);
    const text = shown === '' ? message : `${shown} ${message}`;
    return this.problems.push({ file: this.file, line, path, message: text }) - 1;
  }

  /** Appends `hint` to the message of problem `index` (for hints known only once more of the file is read). */
  amend(index: number, hint: string): void {
    const p = this.problems[index];
    if (p !== undefined) this.problems[index] = { ...p, message: `${p.message}${hint}` };
  }

  /** Notes that the object at `path` is called `name` (read from its `name` field), when it is one a person names. */
  nameObject(path: string, name: string): void {
    const last = /(?:^|\.)([a-z_]+)\[\d+\]$/.exec(path);
    const kind = last === null ? undefined : NAMED_KINDS[last[1]!];
    // weighted_clusters.clusters[i] are references to clusters, not clusters.
    if (kind === undefined || path.endsWith(`weighted_clusters.clusters${path.slice(path.lastIndexOf('['))}`)) return;
    this.named.set(path, `${kind} "${name}"`);
  }

  /** How to call the object at `path`: its kind and name when it has one (`cluster "a"`), else the path. */
  label(path: string): string {
    return this.named.get(path) ?? path;
  }

  /** A long path as its nearest named ancestor and the rest; short ones as they are. */
  private shownPath(path: string): string {
    if (path.length <= LONG_PATH) return path;
    let best = '';
    for (const prefix of this.named.keys()) {
      if (prefix.length > best.length && (path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`))) best = prefix;
    }
    if (best === '') return path;
    const rest = path.slice(best.length).replace(/^\./, '');
    return rest === '' ? this.named.get(best)! : `${this.named.get(best)!} › ${rest}`;
  }

  lineOf(offset: number): number {
    return Math.max(1, this.lines.linePos(offset).line);
  }
}

export interface ReadContext {
  readonly doc: Document;
  readonly problems: ProblemList;
  /** Envoy's readers: enum names match whatever their case (Envoy parses them so). */
  readonly caseInsensitiveEnums?: boolean;
  /** Envoy's readers: one message where a list of them belongs is a list of one (protobuf's JSON parser takes it; Envoy's examples write it). */
  readonly singleMessageAsList?: boolean;
}

type Json = string | number | boolean;

/** protobuf uint32's largest value, the upper bound of most integer fields. */
export const UINT32_MAX = 4_294_967_295;

/** One value at one path: possibly missing (node null). */
export class ValueReader {
  constructor(
    readonly ctx: ReadContext,
    readonly node: Node | null,
    readonly path: string,
    /** Where a "required" problem points when the value is missing: the parent map. */
    private readonly parent: Node | null = null,
    /** The object reader this value is a field of (directly or as a list item), for misplaced-field hints. */
    readonly owner: ObjectReader | null = null,
  ) {}

  get missing(): boolean {
    return this.node === null;
  }

  /** The value as plain data (maps, lists, scalars; aliases resolved), for free-form fields such as json_format. */
  plain(): unknown {
    const node = this.resolve(this.node);
    return node === null ? undefined : node.toJS(this.ctx.doc, { maxAliasCount: 100 });
  }

  problem(message: string): void {
    // The root has no path: name it, so "must be a map" reads as a sentence.
    const text = this.path === '' ? `the bootstrap ${message}` : message;
    this.ctx.problems.add(this.node ?? this.parent, this.path, text);
  }

  /** Reports "is required" when missing; returns whether the value is present. */
  require(): boolean {
    if (this.node === null) this.problem('is required');
    return this.node !== null;
  }

  private scalar(): Json | null | undefined {
    if (this.node === null) return undefined;
    if (!isScalar(this.node)) return null;
    const v = this.node.value;
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : null;
  }

  string(): string | undefined {
    const v = this.scalar();
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      this.problem(typeof v === 'number' || typeof v === 'boolean' ? 'must be a string (quote it)' : 'must be a string');
      return undefined;
    }
    return v;
  }

  /** A non-empty string. */
  nonEmptyString(): string | undefined {
    const v = this.string();
    if (v === '') {
      this.problem('must not be empty');
      return undefined;
    }
    return v;
  }

  bool(): boolean | undefined {
    const v = this.scalar();
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') {
      this.problem('must be a boolean (true or false)');
      return undefined;
    }
    return v;
  }

  /** An integer in [min, max]; protobuf JSON also allows integers written as strings. */
  integer(min: number, max: number): number | undefined {
    const v = this.scalar();
    if (v === undefined) return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n)) {
      this.problem('must be an integer');
      return undefined;
    }
    if (n < min || n > max) {
      this.problem(`must be between ${min} and ${max}`);
      return undefined;
    }
    return n;
  }

  /** A finite number (protobuf double) in [min, max]; protobuf JSON also allows numbers written as strings. */
  number(min: number, max: number): number | undefined {
    const v = this.scalar();
    if (v === undefined) return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v) ? Number(v) : NaN;
    if (!Number.isFinite(n)) {
      this.problem('must be a number');
      return undefined;
    }
    if (n < min || n > max) {
      this.problem(`must be between ${min} and ${max}`);
      return undefined;
    }
    return n;
  }

  /** One of the given enum names (protobuf JSON enum form). */
  enumOf<T extends string>(names: readonly T[]): T | undefined {
    const v = this.scalar();
    if (v === undefined) return undefined;
    if (typeof v === 'string' && (names as readonly string[]).includes(v)) return v as T;
    // Envoy reads enum names case-insensitively (its examples write `type: strict_dns`); Istio's readers do not.
    if (typeof v === 'string' && this.ctx.caseInsensitiveEnums === true) {
      const upper = v.toUpperCase();
      const found = names.find((n) => n.toUpperCase() === upper);
      if (found !== undefined) return found;
    }
    this.problem(`must be one of ${names.join(', ')}`);
    return undefined;
  }

  /** A google.protobuf.Duration ("1.5s" or {seconds, nanos}), in milliseconds. */
  duration(): number | undefined {
    if (this.node === null) return undefined;
    if (isMap(this.node)) {
      const obj = this.object();
      if (obj === undefined) return undefined;
      const secondsField = obj.field('seconds');
      const nanosField = obj.field('nanos');
      const seconds = secondsField.integer(0, MAX_DURATION_SECONDS);
      const nanos = nanosField.integer(0, 999_999_999);
      obj.done();
      const bad = (seconds === undefined && !secondsField.missing) || (nanos === undefined && !nanosField.missing);
      return bad ? undefined : durationFromParts(seconds ?? 0, nanos ?? 0);
    }
    const v = this.scalar();
    const ms = typeof v === 'string' ? parseDurationText(v) : null;
    if (ms === null) {
      this.problem('must be a duration like "1.5s" or "0.250s"');
      return undefined;
    }
    if (ms > MAX_DURATION_SECONDS * 1000) {
      this.problem('is too large');
      return undefined;
    }
    return ms;
  }

  /** Items of a sequence (empty when missing or wrong type). */
  list(): ValueReader[] {
    if (this.node === null) return [];
    if (isMap(this.node) && this.ctx.singleMessageAsList === true) return [new ValueReader(this.ctx, this.node, `${this.path}[0]`, this.node, this.owner)];
    if (!isSeq(this.node)) {
      this.problem('must be a list');
      return [];
    }
    const out: ValueReader[] = [];
    this.node.items.forEach((item, i) => {
      const node = this.resolve(item as Node);
      const reader = new ValueReader(this.ctx, node, `${this.path}[${i}]`, (item as Node | null) ?? this.node, this.owner);
      if (node === null) reader.problem('must not be empty (null)');
      else out.push(reader);
    });
    return out;
  }

  /**
   * Reads every item of a sequence with `read` (so each bad item reports its problems); returns the items,
   * or undefined when any item was bad. Empty when missing.
   */
  listOf<T>(read: (item: ValueReader) => T | undefined): T[] | undefined {
    const out: T[] = [];
    let ok = true;
    for (const item of this.list()) {
      const value = read(item);
      if (value === undefined) ok = false;
      else out.push(value);
    }
    return ok ? out : undefined;
  }

  object(): ObjectReader | undefined {
    if (this.node === null) return undefined;
    if (!isMap(this.node)) {
      this.problem('must be a map');
      return undefined;
    }
    return new ObjectReader(this.ctx, this.node, this.path, this.owner);
  }

  /** Whether the value is a string scalar (for fields that take a number or an enum name). */
  isScalarString(): boolean {
    return typeof this.scalar() === 'string';
  }

  /** Whether the value is a map (for fields taken as an opaque Struct, like node.metadata). */
  isMap(): boolean {
    return this.node !== null && isMap(this.node);
  }

  resolve(node: Node | null | undefined): Node | null {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return (node.resolve(this.ctx.doc) as Node | undefined) ?? null;
    if (isScalar(node) && node.value === null) return null; // `key:` or `key: null` means "not set"
    return node;
  }
}

/** The fields of one map; tracks which were read. */
export class ObjectReader {
  private readonly entries = new Map<string, { key: Node; value: Node | null }>();
  private readonly read = new Set<string>();
  /** Objects read inside this one (its fields' and list items' maps), for "belongs one level down" hints. */
  private readonly children: ObjectReader[] = [];
  /** Unknown fields of children whose hint waits for this object's done() (when its known fields are all read). */
  private readonly pendingFromChildren: { index: number; name: string }[] = [];
  private finished = false;

  constructor(
    readonly ctx: ReadContext,
    readonly node: Node,
    readonly path: string,
    /** The object this one is a field (or list item) of; null at the top. */
    private readonly parentReader: ObjectReader | null = null,
  ) {
    parentReader?.children.push(this);
    if (!isMap(node)) return;
    const resolver = new ValueReader(ctx, null, path);
    for (const pair of node.items) {
      const key = pair.key as Node;
      const name = isScalar(key) ? String(key.value) : String(key);
      this.entries.set(name, { key, value: resolver.resolve(pair.value as Node | null) });
    }
    const named = this.entries.get('name')?.value;
    if (named != null && isScalar(named) && typeof named.value === 'string' && named.value !== '') ctx.problems.nameObject(path, named.value);
  }

  private childPath(name: string): string {
    // Map keys that hold dots (filter names in typed_per_filter_config) are bracketed so the path stays readable.
    if (name.includes('.')) return `${this.path}['${name}']`;
    return this.path === '' ? name : `${this.path}.${name}`;
  }

  /** The names of every field present, read or not (for maps keyed by name). */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.get(name)?.value != null;
  }

  /** The named field (marked as read); a missing field gives a reader with a null node. */
  field(name: string): ValueReader {
    this.read.add(name);
    const entry = this.entries.get(name);
    return new ValueReader(this.ctx, entry?.value ?? null, this.childPath(name), this.node, this);
  }

  /** Names of the fields present among `names`. */
  present<T extends string>(names: readonly T[]): T[] {
    return names.filter((n) => this.has(n));
  }

  /**
   * At most one of `names` may be set (exactly one when required). Returns the one set, undefined when
   * none is (and none is required), or null after reporting a conflict or a missing required choice.
   * Marks all of `names` as read so a conflict is not reported twice.
   */
  oneOf<T extends string>(names: readonly T[], required: boolean): T | null | undefined {
    for (const n of names) this.read.add(n);
    const set = this.present(names);
    if (set.length > 1) {
      this.ctx.problems.add(this.entries.get(set[1]!)!.key, this.path, `sets ${set.join(' and ')}; only one of ${names.join(', ')} is allowed`);
      return null;
    }
    if (set.length === 0) {
      if (!required) return undefined;
      this.ctx.problems.add(this.node, this.path, `must set one of ${names.join(', ')}`);
      return null;
    }
    return set[0];
  }

  /**
   * Reports every field not read as unsupported, with a hint where one helps: a close known name ("did you
   * mean"), or the level where the field is valid (one up, or one down: a misindented line). Call after
   * reading the known fields.
   */
  done(): void {
    this.finished = true;
    for (const [name, entry] of this.entries) {
      if (this.read.has(name)) continue;
      const similar = closestName(name, this.read);
      const below = similar === undefined ? this.childKnowing(name) : undefined;
      const hint = similar !== undefined ? `; did you mean '${similar}'?`
        : below !== undefined ? `; it belongs one level down, in ${below.path.slice(this.path.length).replace(/^\./, '')} (indent it more)` : '';
      const index = this.ctx.problems.add(entry.key, this.childPath(name), `is not supported${hint}`);
      if (hint !== '' || this.parentReader === null) continue;
      if (this.parentReader.finished) this.parentReader.hintFromChild(index, name);
      else this.parentReader.pendingFromChildren.push({ index, name });
    }
    for (const pending of this.pendingFromChildren) this.hintFromChild(pending.index, pending.name);
    this.pendingFromChildren.length = 0;
  }

  /** A child's unknown field that is one of this object's own fields: it was indented one level too deep. */
  private hintFromChild(index: number, name: string): void {
    if (!this.read.has(name)) return;
    const where = this.path === '' ? 'at the top level' : `in ${this.ctx.problems.label(this.path)}`;
    this.ctx.problems.amend(index, `; it belongs one level up, ${where} (indent it less)`);
  }

  /** The first child object (field or list item) that knows `name` as a field. */
  private childKnowing(name: string): ObjectReader | undefined {
    return this.children.find((c) => c.read.has(name));
  }
}
