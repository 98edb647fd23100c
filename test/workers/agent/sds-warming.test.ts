import { describe, expect, it } from 'vitest';
import type { Bootstrap } from '../../../src/config/bootstrap-types.js';
import type { SdsSecrets } from '../../../src/config/sds-secrets.js';
import { adsSecretNames, mergeSecrets, withoutWarming } from '../../../workers/agent/sds-warming.js';

const cert = (n: string) => ({ name: n, certificate: { chainPem: `chain-${n}`, keyPem: `key-${n}`, chainPath: null, keyPath: null } });
const ca = (n: string, pem: string) => ({ name: n, trustedCaPem: pem, trustedCaPath: null });

describe('SDS secrets: sources and warming', () => {
  it('takes default only from the identity, ROOTCA from ADS first, and says where each came from', () => {
    const identity: SdsSecrets = { default: cert('default'), ROOTCA: ca('ROOTCA', 'csr-bundle') };
    const ads: SdsSecrets = { default: cert('evil'), ROOTCA: ca('ROOTCA', 'ads-bundle'), extra: ca('extra', 'x') };
    const { secrets, sources } = mergeSecrets(identity, ads);
    expect(secrets.default!.certificate!.keyPem).toBe('key-default');
    expect(secrets.ROOTCA!.trustedCaPem).toBe('ads-bundle');
    expect(secrets.extra!.trustedCaPem).toBe('x');
    expect(Object.fromEntries(sources)).toEqual({ default: 'workload identity (CSR)', ROOTCA: 'ADS', extra: 'ADS' });
    // Without an ADS ROOTCA the CSR answer's bundle serves; a control plane's `default` is never used.
    expect(mergeSecrets(identity, {}).secrets.ROOTCA!.trustedCaPem).toBe('csr-bundle');
    expect(mergeSecrets({}, ads).secrets.default).toBeUndefined();
  });

  it('asks the control plane for every referenced name but its own default', () => {
    expect(adsSecretNames(['ROOTCA', 'default', 'other'], true)).toEqual(['ROOTCA', 'other']);
    expect(adsSecretNames(['ROOTCA', 'default'], false)).toEqual(['ROOTCA', 'default']);
  });

  it('holds back the listeners and clusters naming a secret that has not arrived', () => {
    const tls = (validationSecret?: string) => ({ certificates: [], trustedCaPem: null, trustedCaPath: null, sanMatchers: [], alpn: [], minVersion: 0x303, maxVersion: 0x304, ...(validationSecret ? { validationSecret } : {}) });
    const bootstrap = {
      listeners: [
        { name: 'plain', filterChains: [{ tls: null }] },
        { name: 'mtls', filterChains: [{ tls: { ...tls('ROOTCA'), requireClientCertificate: true } }] },
      ],
      clusters: [{ name: 'a', tls: null }, { name: 'b', tls: { ...tls('ROOTCA'), sni: '' } }],
    } as unknown as Bootstrap;
    const waiting = withoutWarming(bootstrap, {});
    expect(waiting.bootstrap.listeners.map((l) => l.name)).toEqual(['plain']);
    expect(waiting.bootstrap.clusters.map((c) => c.name)).toEqual(['a']);
    expect(waiting.warming).toEqual([
      { kind: 'listener', name: 'mtls', waitingFor: ['ROOTCA'] },
      { kind: 'cluster', name: 'b', waitingFor: ['ROOTCA'] },
    ]);
    const ready = withoutWarming(bootstrap, { ROOTCA: ca('ROOTCA', 'pem') });
    expect(ready.warming).toEqual([]);
    expect(ready.bootstrap).toBe(bootstrap);
  });
});
