// A Check's or Report's attributes with the source workload's filled in by
// the control plane (Mixer's kubernetesenv step): source.labels,
// source.workload.name / .namespace / .uid, source.name and source.uid come
// from the registry (workload-directory.ts) by source.ip and source.principal,
// looked up only when a rule reads one and the request did not carry it.
//
// The proxy's check cache keys on the referenced attributes, and it never
// has these: so a read of a derived attribute is recorded as reads of its
// inputs (source.ip and source.principal, present with their value or
// absent), and a cached answer is reused only for the same source workload.
import type { AttributeBag, AttributeValue } from '../../src/policy/attribute-value.js';
import type { ReferenceRedirect, ReferenceSinkLike } from './reference-recorder.js';
import type { WorkloadDirectory, WorkloadFacts } from './workload-directory.js';

/** The attributes derived here, and which workload fact each is. */
const DERIVED: ReadonlyMap<string, (f: WorkloadFacts) => AttributeValue | undefined> = new Map<string, (f: WorkloadFacts) => AttributeValue | undefined>([
  ['source.labels', (f) => f.labels],
  ['source.workload.name', (f) => f.workloadName],
  ['source.workload.namespace', (f) => f.namespace],
  ['source.workload.uid', (f) => f.workloadUid],
  ['source.name', (f) => f.name],
  ['source.uid', (f) => f.uid],
]);

/** What a lookup is keyed by: the proxy must send these whenever a rule reads a derived attribute. */
export const WORKLOAD_INPUTS: readonly string[] = ['source.ip', 'source.principal'];

/** Whether the control plane derives `name` from the registry. */
export function isWorkloadAttribute(name: string): boolean {
  return DERIVED.has(name);
}

/** Derived attributes no proxy computes (source.workload.namespace it reads from the peer's SPIFFE ID). */
export function onlyDerived(name: string): boolean {
  return DERIVED.has(name) && name !== 'source.workload.namespace';
}

export class WorkloadAttributeBag implements AttributeBag, ReferenceRedirect {
  private facts: WorkloadFacts | null = null;

  constructor(
    readonly inner: AttributeBag,
    private readonly directory: WorkloadDirectory,
  ) {}

  get(name: string): AttributeValue | undefined {
    const value = this.inner.get(name);
    if (value !== undefined) return value;
    const derive = DERIVED.get(name);
    return derive === undefined ? undefined : derive(this.lookup());
  }

  /** A derived attribute the request did not carry depends on the lookup's inputs: those are recorded instead. */
  redirect(name: string, sink: ReferenceSinkLike): boolean {
    if (!DERIVED.has(name) || this.inner.get(name) !== undefined) return false;
    for (const input of WORKLOAD_INPUTS) sink.reference(input, '', this.inner.get(input) === undefined ? 'ABSENCE' : 'EXACT');
    return true;
  }

  private lookup(): WorkloadFacts {
    if (this.facts === null) {
      const ip = this.inner.get('source.ip');
      const principal = this.inner.get('source.principal');
      this.facts = this.directory.lookup(typeof ip === 'string' && ip !== '' ? plainIp(ip) : undefined, typeof principal === 'string' && principal !== '' ? principal : undefined);
    }
    return this.facts;
  }
}

function plainIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
