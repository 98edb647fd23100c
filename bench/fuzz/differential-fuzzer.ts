// Differential fuzzing of the native request-head parser, its incremental
// partial-head check and the chunked decoder against llhttp: mutants of the
// seed corpus go to both, and every disagreement must belong to a class in
// known-differences.ts. Bounded by executions and by time.
import { PARSE_ERROR } from '../../src/native.js';
import { explain, type Disagreement } from './known-differences.js';
import { LlhttpOracle } from './llhttp-oracle.js';
import { bodySeeds, headSeeds, mutate, Rng } from './mutator.js';
import { DecoderMismatch, checkHeadInTwoReads, decodeChunkedBody, parseHead, type NativeHead } from './native-under-test.js';

export interface FuzzOptions {
  readonly execs: number;
  readonly seconds: number;
  readonly seed: number;
  /** Stop after this many findings (default 20). */
  readonly maxFindings?: number;
}

export interface Finding {
  readonly kind: 'head' | 'chunked' | 'partial-head';
  /** the input as a JSON string literal (latin1), to paste into a test */
  readonly input: string;
  readonly ours: string;
  readonly theirs: string;
}

export interface FuzzReport {
  readonly execs: number;
  readonly seconds: number;
  readonly seed: number;
  /** executions where both parsers gave the same verdict (and the same head length / decoded body) */
  readonly agreed: number;
  /** disagreements by the known class that explains them */
  readonly explained: ReadonlyMap<string, number>;
  readonly findings: readonly Finding[];
}

/** Errors the partial-head check leaves to the complete head (they depend on several fields). */
const CROSS_FIELD = new Set<number>([
  PARSE_ERROR.DUPLICATE_CONTENT_LENGTH, PARSE_ERROR.CONTENT_LENGTH_WITH_TRANSFER_ENCODING, PARSE_ERROR.INVALID_TRANSFER_ENCODING,
  PARSE_ERROR.DUPLICATE_HOST, PARSE_ERROR.MISSING_HOST, PARSE_ERROR.INVALID_CONTENT_LENGTH,
]);

const END_OF_HEAD = Buffer.from('\r\n\r\n');

/** A disagreement only in where a refusal happens: judged on the finished head, where both must agree (or a class explain it). */
export const REFUSED_AT_ANOTHER_BYTE = {
  name: 'refused at a different byte',
  reason: 'one parser refuses at the offending byte, the other when the line or head ends; the head finished with CRLFCRLF is refused by both or explained by a class',
} as const;
const INPUT_LIMIT = 16 * 1024;

type Outcome = { readonly agreed: true } | { readonly agreed: false; readonly explainedBy?: string; readonly finding?: Finding };

const AGREED: Outcome = { agreed: true };

/** A JS string literal of the bytes: printable ASCII as is, every other byte escaped (\r, \n, \t, \xNN). */
export function literal(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) {
    if (b === 0x0d) s += '\\r';
    else if (b === 0x0a) s += '\\n';
    else if (b === 0x09) s += '\\t';
    else if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `"${s}"`;
}

function describeOurs(v: { verdict: string; code: number; length: number }): string {
  return v.verdict === 'error' ? `error ${v.code}` : v.verdict === 'complete' ? `complete ${v.length}` : 'incomplete';
}

function describeTheirs(v: { verdict: string; errno: number; length: number }): string {
  return v.verdict === 'error' ? `error ${v.errno}` : v.verdict === 'complete' ? `complete ${v.length}` : 'incomplete';
}

export class DifferentialFuzzer {
  private readonly oracle = new LlhttpOracle();

  /** Compares one request head; `retry`: on incomplete-vs-error, finish the head and compare again. */
  compareHead(input: Buffer, retry = true): Outcome {
    const ours = parseHead(input);
    const theirs = this.oracle.head(input);
    if (ours.verdict === theirs.verdict && (ours.verdict !== 'complete' || ours.length === theirs.length)) return AGREED;
    if (retry && (ours.verdict === 'incomplete' || theirs.verdict === 'incomplete') && ours.verdict !== 'complete' && theirs.verdict !== 'complete') {
      // One refuses at the offending byte, the other when the line or head ends: judge the finished head.
      const finished = this.compareHead(Buffer.concat([input, END_OF_HEAD]), false);
      if (finished.agreed || finished.explainedBy !== undefined) return { agreed: false, explainedBy: REFUSED_AT_ANOTHER_BYTE.name };
    }
    const d: Disagreement = { kind: 'head', input, ours: { verdict: ours.verdict, code: ours.code, length: ours.length }, theirs };
    const known = explain(d);
    if (known !== undefined) return { agreed: false, explainedBy: known.name };
    return { agreed: false, finding: { kind: 'head', input: literal(input), ours: describeOurs(d.ours), theirs: describeTheirs(theirs) } };
  }

  /** Our incremental check, fed in two reads, must reach the verdict of the one-call parser. */
  comparePartialHead(input: Buffer, split: number, full: NativeHead): Outcome {
    const r = checkHeadInTwoReads(input, split);
    const crossField = full.verdict === 'error' && CROSS_FIELD.has(full.code);
    const ok = r < 0 ? full.verdict === 'error' && (full.code === r || crossField)
      : r > 0 ? (full.verdict === 'complete' && full.length === r) || crossField
      : full.verdict === 'incomplete' || crossField;
    if (ok) return AGREED;
    return {
      agreed: false,
      finding: { kind: 'partial-head', input: literal(input), ours: `check after split ${split}: ${r}`, theirs: `parseRequestHead: ${describeOurs(full)}` },
    };
  }

  compareChunked(body: Buffer, split: number): Outcome {
    let ours;
    try {
      ours = decodeChunkedBody(body, split);
    } catch (err) {
      if (!(err instanceof DecoderMismatch)) throw err;
      return { agreed: false, finding: { kind: 'chunked', input: literal(body), ours: `${err.message} (read split at ${split})`, theirs: 'the two native decoders must agree' } };
    }
    const theirs = this.oracle.chunkedBody(body);
    if (ours.verdict === theirs.verdict && (ours.verdict !== 'complete' || (ours.consumed === theirs.consumed && ours.data.equals(theirs.data)))) return AGREED;
    const d: Disagreement = { kind: 'chunked', input: body, ours: { verdict: ours.verdict, code: ours.code, length: ours.consumed }, theirs: { verdict: theirs.verdict, errno: theirs.errno, length: theirs.consumed } };
    const known = explain(d);
    if (known !== undefined) return { agreed: false, explainedBy: known.name };
    const sameVerdict = ours.verdict === theirs.verdict ? ' (decoded data differs)' : '';
    return {
      agreed: false,
      finding: { kind: 'chunked', input: literal(body), ours: `${describeOurs(d.ours)}${sameVerdict} (read split at ${split})`, theirs: describeTheirs(d.theirs) },
    };
  }

  run(o: FuzzOptions): FuzzReport {
    const rng = new Rng(o.seed);
    const explained = new Map<string, number>();
    const findings: Finding[] = [];
    const maxFindings = o.maxFindings ?? 20;
    const started = Date.now();
    const deadline = started + o.seconds * 1000;
    let execs = 0;
    let agreed = 0;
    const note = (outcome: Outcome): void => {
      execs++;
      if (outcome.agreed) agreed++;
      else if (outcome.explainedBy !== undefined) explained.set(outcome.explainedBy, (explained.get(outcome.explainedBy) ?? 0) + 1);
      else if (outcome.finding !== undefined) findings.push(outcome.finding);
    };
    while (execs < o.execs && findings.length < maxFindings) {
      if ((execs & 1023) === 0 && Date.now() > deadline) break;
      if (rng.below(4) === 0) {
        const body = mutate(bodySeeds, rng, INPUT_LIMIT);
        note(this.compareChunked(body, rng.below(body.length + 1)));
      } else {
        const input = mutate(headSeeds, rng, INPUT_LIMIT);
        note(this.compareHead(input));
        if (input.length > 0 && (execs & 3) === 0) note(this.comparePartialHead(input, 1 + rng.below(input.length), parseHead(input)));
      }
    }
    return { execs, seconds: (Date.now() - started) / 1000, seed: o.seed, agreed, explained, findings };
  }
}
