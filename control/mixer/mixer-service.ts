// isthmus.mixer.v1.Mixer on the control plane's gRPC server (plaintext ADS
// port and the TLS 15012 port, beside ADS and the CA): Check answers a
// request's precondition, its quotas and the attributes the rules read;
// Report hands finished requests to the report handlers and answers at once.
// A full adapter pool answers Check with UNAVAILABLE (the proxy's fail policy
// decides); nothing a peer sends can throw out of a handler here.
import { status as GrpcStatus, type Server, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from '../../src/log.js';
import { mixerServiceDefinition } from './mixer-protos.js';
import { PoolFullError } from './adapter-pool.js';
import type { CheckAnswer } from './rule-dispatch.js';
import type { AttributeMatch } from './reference-recorder.js';
import type { PolicyRuntime } from './policy-runtime.js';
import { EncodedAnswers, withEncodedCheckAnswers } from './encoded-answers.js';
import { serveUnaryFast, type FastHandler } from './fast-unary.js';
import type { NativeGrpcServer } from './native-grpc-server.js';
import { readCheckRequest, type CheckRequestValues } from './check-request-reader.js';
import { rangeDeserializer } from './native-grpc-call.js';
import { MAX_REPORT_BATCH, readReportRequest, type ReportRequestValues } from './report-request-reader.js';

interface DurationMessage {
  seconds: number;
  nanos: number;
}

export interface MixerCheckResponse {
  precondition: {
    status: { code: number; message: string };
    valid_duration: DurationMessage;
    valid_use_count: number;
    referenced_attributes: { attribute_matches: readonly AttributeMatch[] };
  };
  quotas: Record<string, { valid_duration: DurationMessage; granted_amount: number; referenced_attributes: { attribute_matches: readonly AttributeMatch[] }; status: { code: number; message: string } }>;
}

export { MAX_REPORT_BATCH } from './report-request-reader.js';

const duration = (ms: number): DurationMessage => {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
};

/** takes the dispatcher's answer; returns the CheckResponse message. */
export function checkResponse(answer: CheckAnswer): MixerCheckResponse {
  const quotas: MixerCheckResponse['quotas'] = {};
  for (const [name, q] of answer.quotas) {
    quotas[name] = {
      valid_duration: duration(q.validDurationMs), granted_amount: q.grantedAmount,
      referenced_attributes: { attribute_matches: q.referenced }, status: { code: q.code, message: q.message },
    };
  }
  return {
    precondition: {
      status: { code: answer.code, message: answer.message },
      valid_duration: duration(answer.validDurationMs),
      valid_use_count: answer.validUseCount,
      referenced_attributes: { attribute_matches: answer.referenced },
    },
    quotas,
  };
}

/** takes the gRPC server, the policy runtime and the policy port's server (null: none); adds the Mixer service to them. */
export function addMixerService(server: Server, runtime: PolicyRuntime, log: Logger, policyPort: NativeGrpcServer | null = null): void {
  const encoded = withEncodedCheckAnswers(mixerServiceDefinition());
  // CheckRequest read in one pass straight into the bag, quotas and id the handler runs on (check-request-reader.ts);
  // the policy port reads it from the transport's bytes in place when the message came whole (rangeDeserializer).
  // ReportRequest likewise, one bag per entry (report-request-reader.ts).
  const definition = {
    ...encoded,
    Check: { ...encoded.Check!, requestDeserialize: rangeDeserializer(readCheckRequest) },
    Report: { ...encoded.Report!, requestDeserialize: rangeDeserializer(readReportRequest) },
  };
  const serialize = mixerServiceDefinition().Check!.responseSerialize;
  const answers = new EncodedAnswers((answer) => serialize(checkResponse(answer)));
  type CheckCallback = sendUnaryData<MixerCheckResponse | Buffer>;
  const answered = (answer: CheckAnswer, started: number, callback: CheckCallback): void => {
    runtime.countCheck('mixer', answer, started);
    callback(null, answers.encoded(answer));
  };
  const failed = (err: unknown, started: number, callback: CheckCallback): void => {
    runtime.countCheck('mixer', null, started);
    if (err instanceof PoolFullError) {
      callback({ code: GrpcStatus.UNAVAILABLE, details: err.message });
      return;
    }
    log.error({ err }, 'mixer check failed');
    callback({ code: GrpcStatus.INTERNAL, details: 'the policy check failed' });
  };
  const implementation = {
    // Answered before returning when no handler needs a wait (the usual policy): no promise, no closure per Check.
    // Every path's deserializer is readCheckRequest (the definition above): the request is its values.
    Check(call: ServerUnaryCall<CheckRequestValues, MixerCheckResponse | Buffer>, callback: CheckCallback): void {
      const started = performance.now();
      const request = call.request;
      let answer: CheckAnswer | Promise<CheckAnswer>;
      try {
        answer = runtime.checkNow(request.bag, request.quotas, request.deduplicationId);
      } catch (err) {
        failed(err, started, callback);
        return;
      }
      if (answer instanceof Promise) answer.then((a) => answered(a, started, callback), (err: unknown) => failed(err, started, callback));
      else answered(answer, started, callback);
    },
    // Every path's deserializer is readReportRequest (the definition above): the request is its bags.
    Report(call: ServerUnaryCall<ReportRequestValues, object>, callback: sendUnaryData<object>): void {
      const request = call.request;
      if (request.entries > MAX_REPORT_BATCH) {
        // Rules run on this thread for every set: a huge batch would stall Checks behind it.
        callback({ code: GrpcStatus.INVALID_ARGUMENT, details: `a Report carries at most ${MAX_REPORT_BATCH} attribute sets (this one has ${request.entries})` });
        return;
      }
      runtime.report(request.bags);
      callback(null, {});
    },
  };
  server.addService(definition, implementation);
  // The same handlers on the lean unary path (fast-unary.ts); grpc-js keeps them registered (its reflection of the service, a fallback).
  serveUnaryFast(server, definition, implementation as unknown as Record<string, FastHandler>);
  policyPort?.serve(definition, implementation);
}
