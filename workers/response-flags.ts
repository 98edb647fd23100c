// Envoy's response flags, as bits on a request and as the text the access
// log and istio_requests_total show ("UF,URX").
export const ResponseFlag = {
  NR: 1 << 0, // no route
  UH: 1 << 1, // no healthy upstream
  UF: 1 << 2, // upstream connection failure
  UC: 1 << 3, // upstream connection termination
  UT: 1 << 4, // upstream request timeout
  URX: 1 << 5, // upstream retry limit exceeded
  UO: 1 << 6, // upstream overflow (circuit breaking)
  DPE: 1 << 7, // downstream protocol error
  UPE: 1 << 8, // upstream protocol error
  DC: 1 << 9, // downstream connection termination
  LR: 1 << 10, // local reset
  SI: 1 << 11, // stream idle timeout
  DI: 1 << 12, // delay injected (fault filter)
  FI: 1 << 13, // fault injected: an abort (fault filter)
  RL: 1 << 14, // rate limited locally (local_ratelimit filter)
  UAEX: 1 << 15, // unauthorized by an external service (ext_authz, the policy filter)
  RBAC: 1 << 16, // denied by the RBAC filter
} as const;

const NAMES = Object.keys(ResponseFlag) as (keyof typeof ResponseFlag)[];
const text = new Map<number, string>([[0, '-']]);

/** "-" for none, else the flag names joined by commas, in Envoy's order; cached per combination. */
export function responseFlagsText(flags: number): string {
  let s = text.get(flags);
  if (s === undefined) {
    s = NAMES.filter((n) => (flags & ResponseFlag[n]) !== 0).join(',');
    text.set(flags, s);
  }
  return s;
}
