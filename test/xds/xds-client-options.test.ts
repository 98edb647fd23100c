// The --control options of `isthmus proxy` (parsed by workers/agent/proxy-options.ts).
import { describe, expect, it } from 'vitest';
import { parseProxyOptions } from '../../workers/agent/proxy-options.js';

function control(argv: string[]) {
  const parsed = parseProxyOptions(argv, {});
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.options;
}

describe('isthmus proxy --control', () => {
  it('needs no --bootstrap, defaults to delta and 127.0.0.1, and collects repeated --label', () => {
    const options = control(['--control', '127.0.0.1:15010', '--service', 'reviews', '--version', 'v2', '--label', 'team=books', '--label=tier=web', '--app-port', '9080']);
    expect(options.bootstrap).toBeUndefined();
    expect(options.control).toEqual({
      target: '127.0.0.1:15010', protocol: 'delta', version: 'v2', labels: { team: 'books', tier: 'web' }, workloadAddress: '127.0.0.1', appPort: 9080, policyPort: null,
      servicePort: 0, outboundPort: 15001, inboundPort: undefined, serviceAccount: undefined, locality: undefined, router: false,
    });
    expect(control([
      '--control', '127.0.0.1:15010', '--service', 'reviews', '--service-port', '9080', '--outbound-port', '0', '--inbound-port', '25006',
      '--service-account', 'bookinfo-reviews',
    ]).control).toMatchObject({ servicePort: 9080, outboundPort: 0, inboundPort: 25006, serviceAccount: 'bookinfo-reviews' });
    expect(control(['--bootstrap', 'b.yaml', '--control', '[::1]:15010', '--service', 's', '--xds-protocol', 'sotw']).control?.protocol).toBe('sotw');
    expect(control(['--bootstrap', 'b.yaml']).control).toBeUndefined();
  });

  it('--router announces a gateway, istio-ingressgateway unless --service names it', () => {
    const options = control(['--control', '127.0.0.1:15010', '--router', '--label', 'istio=ingressgateway']);
    expect(options.service).toBe('istio-ingressgateway');
    expect(options.control).toMatchObject({ router: true, labels: { istio: 'ingressgateway' } });
    expect(control(['--control', '127.0.0.1:15010', '--router', '--service', 'egress']).service).toBe('egress');
    expect(() => control(['--bootstrap', 'b.yaml', '--router'])).toThrow('--router needs --control HOST:PORT');
  });

  it('names what is wrong', () => {
    expect(() => control([])).toThrow('--bootstrap FILE is required, or --control HOST:PORT');
    expect(() => control(['--control', '127.0.0.1:15010'])).toThrow('--control needs --service NAME');
    expect(() => control(['--control', 'localhost', '--service', 's'])).toThrow("--control: expected HOST:PORT (e.g. 127.0.0.1:15010), got 'localhost'");
    expect(() => control(['--control', '127.0.0.1:1', '--service', 's', '--label', 'novalue'])).toThrow("--label: expected K=V with a label name as K, got 'novalue'");
    expect(() => control(['--control', '127.0.0.1:1', '--service', 's', '--xds-protocol', 'rest'])).toThrow("expected delta or sotw, got 'rest'");
    expect(() => control(['--control', '127.0.0.1:1', '--service', 's', '--outbound-port', '70000'])).toThrow('must be between 0 and 65535');
    expect(() => control(['--control', '127.0.0.1:1', '--service', 's', '--service-account', 'Not A Name'])).toThrow("--service-account: expected a DNS-style name");
    expect(() => control(['--control', '127.0.0.1:1', '--service', 's', '--workload-address', 'localhost'])).toThrow("--workload-address: expected an IP address, got 'localhost'");
  });
});
