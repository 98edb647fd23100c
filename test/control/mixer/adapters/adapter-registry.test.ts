// The adapter registry as the config parser and the adapter pool use it: the
// seven built-ins by name, params validated with errors that name the field,
// and an operator's own adapter registered beside them.
import { describe, expect, it } from 'vitest';
import { AdapterParamError, StatusCode, type Adapter } from '../../../../control/mixer/adapter.js';
import { adapterByName, adapterNames, registerAdapter } from '../../../../control/mixer/adapter-registry.js';
import { instance, testContext } from './handler-context.js';

function paramError(adapter: string, params: unknown): AdapterParamError {
  try {
    adapterByName(adapter)!.parseParams(params);
  } catch (err) {
    expect(err).toBeInstanceOf(AdapterParamError);
    return err as AdapterParamError;
  }
  throw new Error(`${adapter} accepted ${JSON.stringify(params)}`);
}

describe('adapter registry', () => {
  it('has the seven Istio adapters built in, and nothing under other names', () => {
    for (const name of ['denier', 'list', 'memquota', 'prometheus', 'stdio', 'statsd', 'fluentd']) {
      expect(adapterByName(name)?.name).toBe(name);
    }
    expect(adapterByName('redisquota')).toBeUndefined();
    expect(adapterNames()).toEqual(expect.arrayContaining(['denier', 'fluentd', 'list', 'memquota', 'prometheus', 'statsd', 'stdio']));
  });

  it('refuses a second adapter with a taken name', () => {
    const copy: Adapter = { ...adapterByName('denier')! };
    expect(() => registerAdapter(copy)).toThrow(/already registered/);
  });

  it('registers a custom adapter whose handler answers checks', async () => {
    const headerAllow: Adapter = {
      name: 'test-allow-even',
      templates: ['listentry'],
      parseParams: (raw) => {
        const modulus = (raw as { modulus?: unknown } | undefined)?.modulus ?? 2;
        if (typeof modulus !== 'number' || modulus < 1) throw new AdapterParamError('modulus', 'modulus must be a number of at least 1');
        return { modulus };
      },
      createHandler: (params) => {
        const { modulus } = params as { modulus: number };
        return {
          check: (instances) => {
            const odd = instances.some((i) => Number(i.fields.value) % modulus !== 0);
            return { code: odd ? StatusCode.PERMISSION_DENIED : StatusCode.OK, message: odd ? 'odd' : '', validDurationMs: 1000, validUseCount: 10 };
          },
          close: () => {},
        };
      },
    };
    registerAdapter(headerAllow);
    const adapter = adapterByName('test-allow-even')!;
    const params = adapter.parseParams({ modulus: 2 });
    expect(structuredClone(params)).toEqual(params);
    const handler = adapter.createHandler(params, testContext());
    expect((await handler.check!([instance('n.default', 'listentry', { value: 4 })])).code).toBe(StatusCode.OK);
    expect((await handler.check!([instance('n.default', 'listentry', { value: 3 })])).code).toBe(StatusCode.PERMISSION_DENIED);
    expect(() => adapter.parseParams({ modulus: 0 })).toThrow(/modulus/);
  });

  it('names the field path and the problem for bad params of each adapter', () => {
    expect(paramError('denier', { status: { code: 99 } })).toMatchObject({ field: 'status.code', message: expect.stringMatching(/at most 16/) });
    expect(paramError('denier', { validDuration: 'soon' })).toMatchObject({ field: 'validDuration', message: expect.stringMatching(/duration such as "5s"/) });
    expect(paramError('denier', { stauts: {} })).toMatchObject({ field: 'stauts', message: expect.stringMatching(/unknown field "stauts"/) });
    expect(paramError('list', { entryType: 'IP_ADDRESSES', overrides: ['10.0.0.0/8', '10.0.0.300'] })).toMatchObject({ field: 'overrides[1]' });
    expect(paramError('list', { entryType: 'REGEX', overrides: ['(a)\\1'] }).message).toMatch(/overrides\[0\].*backreference/);
    expect(paramError('list', { providerUrl: 'ftp://lists.example/x' })).toMatchObject({ field: 'providerUrl' });
    expect(paramError('list', { providerUrl: 'http://lists.example/x', refreshInterval: '10s', ttl: '5s' })).toMatchObject({ field: 'ttl' });
    expect(paramError('list', { entryType: 'GLOB' }).message).toMatch(/STRINGS, CASE_INSENSITIVE_STRINGS, IP_ADDRESSES, REGEX/);
    expect(paramError('memquota', { quotas: [{ name: 'q', maxAmount: 5 }, { name: 'q', maxAmount: 1 }] })).toMatchObject({ field: 'quotas[1].name' });
    expect(paramError('memquota', { quotas: [{ name: 'q', maxAmount: 5, overrides: [{ dimensions: { a: 'b' }, maxAmount: -1 }] }] })).toMatchObject({
      field: 'quotas[0].overrides[0].maxAmount',
    });
    expect(paramError('prometheus', { metrics: [{ name: 'x', instance_name: 'x.default', kind: 'DISTRIBUTION' }] })).toMatchObject({ field: 'metrics[0].buckets' });
    expect(
      paramError('prometheus', { metrics: [{ name: 'x', instance_name: 'x.default', kind: 'DISTRIBUTION', buckets: { explicitBuckets: { bounds: [1, 5, 2] } } }] }),
    ).toMatchObject({ field: 'metrics[0].buckets.explicitBuckets.bounds[2]' });
    expect(paramError('prometheus', { metrics: [{ name: 'x', instance_name: 'x.default', kind: 'COUNTER', label_names: ['ok', 'bad-label'] }] })).toMatchObject({
      field: 'metrics[0].label_names[1]',
    });
    expect(paramError('stdio', { logStream: 'FILE' })).toMatchObject({ field: 'outputPath' });
    expect(paramError('stdio', { logStream: 'ROTATED_FILE' }).message).toMatch(/not supported/);
    expect(paramError('statsd', { address: 'localhost' })).toMatchObject({ field: 'address' });
    expect(paramError('statsd', { samplingRate: 1.5 })).toMatchObject({ field: 'samplingRate' });
    expect(paramError('statsd', { metrics: { 'rc.default': { type: 'COUNTER', nameTemplate: '{{if .a}}x{{end}}' } } })).toMatchObject({ field: 'metrics.rc.default.nameTemplate' });
    expect(paramError('fluentd', { address: 'fluentd:notaport' })).toMatchObject({ field: 'address' });
    expect(paramError('fluentd', { instanceBufferSize: 0 })).toMatchObject({ field: 'instanceBufferSize' });
  });

  it('returns params as structured-clonable plain data (they cross to the adapter pool threads)', () => {
    const samples: Record<string, unknown> = {
      denier: { status: { code: 7, message: 'Not allowed' }, validDuration: '10s', validUseCount: 100 },
      list: { entryType: 'IP_ADDRESSES', overrides: ['10.0.0.0/8'], blacklist: true },
      memquota: { quotas: [{ name: 'requestcount.quota.istio-system', maxAmount: 500, validDuration: '1s', overrides: [{ dimensions: { destination: 'ratings' }, maxAmount: 1 }] }] },
      prometheus: { metrics: [{ name: 'requests_total', instance_name: 'requestcount.metric.istio-system', kind: 'COUNTER', label_names: ['code'] }] },
      stdio: { outputAsJson: true, severityLevels: { notice: 'INFO' } },
      statsd: { address: '127.0.0.1:8125', metrics: { 'rc.default': { type: 'COUNTER' } } },
      fluentd: { address: '127.0.0.1:24224', pushIntervalDuration: '1s' },
    };
    for (const [name, raw] of Object.entries(samples)) {
      const params = adapterByName(name)!.parseParams(raw);
      expect(structuredClone(params), name).toEqual(params);
    }
  });
});
