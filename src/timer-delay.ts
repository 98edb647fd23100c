// Node fires a timer whose delay is over 2^31-1 ms (~24.8 days) after 1 ms
// (TimeoutOverflowWarning). A config duration or a peer's deadline can be
// longer: such a timer is armed at the longest delay Node holds instead.

/** The longest delay a Node timer holds. */
export const MAX_TIMER_MS = 0x7fffffff;

/** takes a delay in ms; returns it, at most MAX_TIMER_MS. */
export function timerDelay(ms: number): number {
  return ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms;
}
