// isthmus.mixer.v1.ReportRequest read straight from its protobuf bytes into
// one attribute bag per entry (the same reading as a Check's attributes,
// check-request-reader.ts): no protobufjs message objects in between, which
// were most of the control plane's CPU per Report entry. The entry count is
// bounded: past MAX_REPORT_BATCH the rest is skipped unread and only counted,
// so the handler answers INVALID_ARGUMENT without building any of it.
// Malformed bytes throw RangeError (the server answers INTERNAL).
import type { AttributeValue } from '../../src/policy/attribute-value.js';
import { MapAttributeBag } from './attribute-message.js';
import { BYTES, Reader } from './check-request-decoder.js';
import { readAttributes } from './check-request-reader.js';

/** Attribute sets one Report may carry (a proxy's batches are far smaller). */
export const MAX_REPORT_BATCH = 10_000;

/** A Report as the handler runs it: its bags, and how many entries it carried (more than bags.length: over the bound). */
export class ReportRequestValues {
  constructor(
    readonly bags: readonly MapAttributeBag[],
    readonly entries: number,
  ) {}
}

/** takes buf[start, end), a ReportRequest's bytes; returns its bags (throws RangeError on malformed bytes). */
export function readReportRequest(buf: Buffer, start = 0, end = buf.length): ReportRequestValues {
  const r = new Reader(buf, start, end);
  const bags: MapAttributeBag[] = [];
  let entries = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    const wire = tag & 7;
    if (tag >>> 3 === 1 && wire === BYTES) {
      const entryEnd = r.length();
      if (++entries > MAX_REPORT_BATCH) {
        r.pos = entryEnd;
        continue;
      }
      const values = new Map<string, AttributeValue>();
      readAttributes(r, entryEnd, values);
      bags.push(new MapAttributeBag(values));
    } else {
      r.skip(wire);
    }
  }
  return new ReportRequestValues(bags, entries);
}
