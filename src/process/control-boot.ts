// `isthmus control`: undo the `#!` flags that suit a sidecar but not the control plane (bin/isthmus.js).
// --optimize-for-size makes V8 collect the old generation early and often to keep the heap small: in the
// control plane, which holds every proxy's config and answers Mixer Checks at thousands a second, that put
// mark-compact pauses of 6-9 ms into the Check latency tail (bench:mixer --as-installed: p99 2.4-3.8 ms,
// 0.8-1.0 ms without it). Sparkplug's baseline code is cheap CPU for a process with one copy per mesh.
// The young generation keeps --max-semi-space-size=1: it is fixed when the heap is made, and measured it
// does not hurt the Check tail. V8 reads these two flags as it decides, so setting them now takes effect.
import { setFlagsFromString } from 'node:v8';

/** Takes nothing; sets the V8 flags the control plane runs with (before its modules load); returns nothing. */
export function prepareControlProcess(): void {
  setFlagsFromString('--no-optimize-for-size');
  setFlagsFromString('--sparkplug');
}
