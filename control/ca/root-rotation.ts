// Root rotation for the control plane's own root (`isthmus ca rotate`), in
// the order that keeps every mTLS handshake working while proxies learn new
// roots only when they renew their certificate (each renewal brings the
// trust bundle):
//   1. rotate: a new root is made and added to the trust bundle; signing stays
//      with the old root. Within one overlap (>= the longest workload
//      certificate lifetime) every workload has renewed and trusts both.
//   2. after the overlap: the new root signs; the old one stays in the bundle,
//      so certificates still under it keep verifying. Within one more overlap
//      every workload holds a certificate under the new root.
//   3. after the second overlap, or `isthmus ca retire-old` once 2. has
//      begun: the old root leaves the bundle.
// The phases are stored with the roots, so a restarted control plane resumes
// where it was.
import type { StoredRoot } from './ca-material.js';

export interface RootRotation {
  /** The new root while it is trusted but not yet signing (phase 1). */
  readonly pending: StoredRoot | null;
  /** The old root while certificates under it may still be in use (phase 2). */
  readonly previous: StoredRoot | null;
  /** Unix ms: when the pending root starts signing. */
  readonly switchAt: number;
  /** Unix ms: when the previous root leaves the trust bundle. */
  readonly retireAt: number;
}

export type RotationPhase = 'none' | 'trusting-new-root' | 'signing-with-new-root';

export function rotationPhase(r: RootRotation | undefined): RotationPhase {
  if (r === undefined) return 'none';
  if (r.pending !== null) return 'trusting-new-root';
  if (r.previous !== null) return 'signing-with-new-root';
  return 'none';
}

/** The signing root and the rotation after time `now` has passed (both unchanged when nothing is due). */
export function advanceRotation(root: StoredRoot, r: RootRotation | undefined, now: number): { root: StoredRoot; rotation: RootRotation | undefined } {
  if (r === undefined) return { root, rotation: undefined };
  let current = root;
  let next: RootRotation = r;
  if (next.pending !== null && now >= next.switchAt) {
    next = { ...next, previous: current, pending: null };
    current = r.pending!;
  }
  if (next.pending === null && next.previous !== null && now >= next.retireAt) next = { ...next, previous: null };
  if (next.pending === null && next.previous === null) return { root: current, rotation: undefined };
  return { root: current, rotation: next };
}

/** The trust bundle: the signing root first, then the pending or previous one. */
export function trustBundle(root: StoredRoot, r: RootRotation | undefined): string {
  const extra = r?.pending ?? r?.previous ?? null;
  return extra === null ? root.certPem : root.certPem + extra.certPem;
}
