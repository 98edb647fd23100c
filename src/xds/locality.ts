// Istio's locality string, `region/zone/subzone` (trailing parts may be left
// out), as WorkloadEntries, ServiceEntry endpoints and `isthmus proxy
// --locality` write it; parsed in one place so they agree on what is valid.
import type { Locality } from '../config/bootstrap-types.js';

export type { Locality };

/** One part of a locality (a region, zone or subzone name). */
export const LOCALITY_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** The locality a string names, or null when it is not region[/zone[/subzone]]. */
export function parseLocality(text: string): Locality | null {
  const parts = text.split('/');
  if (parts.length > 3 || parts.some((p) => !LOCALITY_PART.test(p))) return null;
  return { region: parts[0]!, zone: parts[1] ?? '', subZone: parts[2] ?? '' };
}

/** The locality as Istio writes it (`region/zone/subzone`); '' for none. A key as well as a label. */
export function localityText(l: Locality | undefined): string {
  return l === undefined ? '' : `${l.region}/${l.zone}/${l.subZone}`;
}
