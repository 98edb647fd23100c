// Istio's `denier` adapter: every Check it is asked answers with the configured
// status (a rule's match expression decides which requests reach it), and the
// proxy may reuse that answer for validDuration / validUseCount. Its defaults
// are Istio's: FAILED_PRECONDITION, 5s, 1000 uses.
import type { Adapter, AdapterHandler, CheckResult, QuotaResult } from '../adapter.js';
import { readDurationMs, readNumber, readObject, readString, rawField } from './adapter-params.js';

export interface DenierParams {
  readonly code: number;
  readonly message: string;
  readonly validDurationMs: number;
  readonly validUseCount: number;
}

const FAILED_PRECONDITION = 9;

export function parseDenierParams(raw: unknown): DenierParams {
  const params = readObject(raw, '', ['status', 'validDuration', 'validUseCount']);
  const status = readObject(rawField(params, 'status'), 'status', ['code', 'message', 'details']);
  return {
    // google.rpc.Code: 0 (OK) to 16 (UNAUTHENTICATED)
    code: readNumber(status, 'code', 'status', FAILED_PRECONDITION, { min: 0, max: 16, integer: true }),
    message: readString(status, 'message', 'status', ''),
    validDurationMs: readDurationMs(params, 'validDuration', '', 5000),
    validUseCount: readNumber(params, 'validUseCount', '', 1000, { min: 0, max: 2 ** 31 - 1, integer: true }),
  };
}

class DenierHandler implements AdapterHandler {
  private readonly result: CheckResult;

  constructor(params: DenierParams, handlerName: string) {
    this.result = {
      code: params.code,
      message: params.message !== '' || params.code === 0 ? params.message : `denied by ${handlerName}`,
      validDurationMs: params.validDurationMs,
      validUseCount: params.validUseCount,
    };
  }

  check(): CheckResult {
    return this.result;
  }

  /** A denier grants no quota unless its status is OK. */
  quota(): QuotaResult {
    return { grantedAmount: 0, validDurationMs: this.result.validDurationMs };
  }

  close(): void {}
}

export const denierAdapter: Adapter = {
  name: 'denier',
  templates: ['checknothing', 'listentry', 'quota'],
  parseParams: parseDenierParams,
  createHandler: (params, context) => new DenierHandler(params as DenierParams, context.handlerName),
  // A constant answer: runs on the gRPC thread.
  inline: () => true,
};
