// A real isthmus.mixer.v1.Mixer server on 127.0.0.1 for the policy filter's
// tests, until the control plane serves Mixer: it counts Checks, keeps what
// it was asked and answers as the test sets (deny on a header, use count,
// duration, slowness, quota), and keeps every Report batch.
import * as grpc from '@grpc/grpc-js';
import { mixerServiceDefinition } from '../../src/xds/mixer-protos.js';

export interface DecodedCheck {
  readonly attributes: Record<string, Record<string, unknown>>;
  readonly quotas: Record<string, { amount: number }>;
}

export interface MixerBehaviour {
  /** Deny (PERMISSION_DENIED) requests whose x-user header is this value. */
  denyUser: string | null;
  validDurationMs: number;
  validUseCount: number;
  /** Wait this long before answering a Check. */
  delayMs: number;
  /** Quota left per quota name (null: grant everything). */
  quotaLeft: number | null;
  /** Report: answer UNAVAILABLE instead of OK. */
  refuseReports: boolean;
  /** Report: wait this long before answering. */
  reportDelayMs: number;
}

export interface MixerTestServer {
  readonly port: number;
  readonly behaviour: MixerBehaviour;
  readonly checks: DecodedCheck[];
  readonly reports: Record<string, Record<string, unknown>>[][];
  close(): Promise<void>;
}

function headerOf(check: DecodedCheck, name: string): string | undefined {
  const headers = check.attributes['request.headers'] as { string_map_value?: { entries?: Record<string, string> } } | undefined;
  return headers?.string_map_value?.entries?.[name];
}

export async function startMixerServer(port = 0): Promise<MixerTestServer> {
  const behaviour: MixerBehaviour = {
    denyUser: null, validDurationMs: 60_000, validUseCount: 10_000, delayMs: 0, quotaLeft: null, refuseReports: false, reportDelayMs: 0,
  };
  const checks: DecodedCheck[] = [];
  const reports: Record<string, Record<string, unknown>>[][] = [];
  const server = new grpc.Server();
  server.addService(mixerServiceDefinition(), {
    Check(call: grpc.ServerUnaryCall<{ attributes?: { attributes?: Record<string, Record<string, unknown>> }; quotas?: Record<string, { amount: number }> }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const check: DecodedCheck = { attributes: call.request.attributes?.attributes ?? {}, quotas: call.request.quotas ?? {} };
      checks.push(check);
      const user = headerOf(check, 'x-user');
      const denied = behaviour.denyUser !== null && user === behaviour.denyUser;
      const quotas: Record<string, unknown> = {};
      for (const [name, q] of Object.entries(check.quotas)) {
        const left = behaviour.quotaLeft;
        const granted = left === null ? q.amount : Math.min(left, Number(q.amount));
        if (left !== null) behaviour.quotaLeft = left - granted;
        quotas[name] = { granted_amount: granted, valid_duration: { seconds: 1, nanos: 0 }, status: { code: 0, message: '' } };
      }
      const ms = behaviour.validDurationMs;
      const response = {
        precondition: {
          status: denied ? { code: 7, message: `user ${user} is denied` } : { code: 0, message: '' },
          valid_duration: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
          valid_use_count: behaviour.validUseCount,
          // The rule read exactly one attribute: the x-user header (present or absent).
          referenced_attributes: {
            attribute_matches: [user === undefined
              ? { name: 'request.headers', map_key: 'x-user', condition: 'ABSENCE' }
              : { name: 'request.headers', map_key: 'x-user', condition: 'EXACT' }],
          },
        },
        quotas,
      };
      if (behaviour.delayMs > 0) setTimeout(() => cb(null, response), behaviour.delayMs);
      else cb(null, response);
    },
    Report(call: grpc.ServerUnaryCall<{ attributes?: { attributes?: Record<string, Record<string, unknown>> }[] }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const answer = (): void => {
        if (behaviour.refuseReports) {
          cb({ code: grpc.status.UNAVAILABLE, details: 'refusing reports' } as grpc.ServiceError);
          return;
        }
        reports.push((call.request.attributes ?? []).map((a) => a.attributes ?? {}));
        cb(null, {});
      };
      if (behaviour.reportDelayMs > 0) setTimeout(answer, behaviour.reportDelayMs);
      else answer();
    },
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err)));
  });
  return {
    port: bound,
    behaviour,
    checks,
    reports,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
}
