// The grpc-status a local answer's header lines carry (filter-answer.ts writes them).

/** takes header lines ("name: value\r\n"...); returns their grpc-status, or -1 when none. */
export function grpcStatusOf(headerLines: string): number {
  const at = headerLines.indexOf('grpc-status: ');
  if (at < 0) return -1;
  const end = headerLines.indexOf('\r\n', at);
  const n = Number(headerLines.slice(at + 13, end < 0 ? undefined : end));
  return Number.isInteger(n) ? n : -1;
}
