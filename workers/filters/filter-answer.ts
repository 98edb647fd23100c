// A response an HTTP filter makes itself instead of forwarding the request
// (a fault abort, a CORS preflight): what ActiveRequest.sendResponse needs.

export interface FilterAnswer {
  readonly status: number;
  readonly body: string;
  /** Extra header lines, each ending in CRLF ('' for none). */
  readonly headers: string;
  /** Response flag bits for the access log (ResponseFlag), 0 for none. */
  readonly flag: number;
}

/** Envoy's Grpc::Utility::httpToGrpcStatus, for a gRPC request aborted with an HTTP status. */
export function httpToGrpcStatus(http: number): number {
  switch (http) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/**
 * A local reply as Envoy shapes it for the request: to a gRPC request (content-type
 * application/grpc...) a trailers-only response (200, grpc-status, grpc-message; over
 * HTTP/1.1 that is a head with no body), to anything else `status` with a text body.
 */
export function localAnswer(status: number, grpcStatus: number | null, message: string, grpcRequest: boolean, flag: number): FilterAnswer {
  if (grpcRequest) {
    const code = grpcStatus ?? httpToGrpcStatus(status);
    return {
      status: 200,
      body: '',
      headers: `content-type: application/grpc\r\ngrpc-status: ${code}\r\ngrpc-message: ${encodeGrpcMessage(message)}\r\n`,
      flag,
    };
  }
  return { status, body: message, headers: 'content-type: text/plain\r\n', flag };
}

/** grpc-message is percent-encoded outside printable ASCII (space through tilde, less '%'), as the gRPC spec and Envoy do. */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  const bytes = Buffer.from(message, 'utf8');
  for (const b of bytes) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** Whether a content-type names gRPC (Envoy's Grpc::Common::isGrpcRequestHeaders). */
export function isGrpcContentType(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.length < 16) return false;
  if (contentType.slice(0, 16).toLowerCase() !== 'application/grpc') return false;
  return contentType.length === 16 || contentType.charCodeAt(16) === 43 /* + */ || contentType.charCodeAt(16) === 59 /* ; */;
}
