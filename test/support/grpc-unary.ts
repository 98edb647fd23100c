// One unary gRPC call with raw Buffer messages from a grpc-js client, with
// everything the e2e tests look at: the error, the answer, the trailers and
// how long it took.
import * as grpc from '@grpc/grpc-js';

export interface UnaryResult {
  readonly err: grpc.ServiceError | null;
  readonly value: Buffer | undefined;
  readonly trailers: grpc.Metadata | null;
  readonly ms: number;
}

const id = (b: Buffer): Buffer => b;

/** Calls `path` on `client` with `body`; resolves once both the answer and the status (trailers) are in. */
export function unaryCall(client: grpc.Client, path: string, body: Buffer, md = new grpc.Metadata(), options: grpc.CallOptions = {}): Promise<UnaryResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | null = null;
    const call = client.makeUnaryRequest(path, id, id, body, md, options, (err, value) => {
      // The status event (with the trailers) comes after this callback.
      setImmediate(() => resolve({ err: err ?? null, value, trailers, ms: Date.now() - started }));
    });
    call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
  });
}
