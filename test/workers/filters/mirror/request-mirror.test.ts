// The shadow copy's head: Envoy's "-shadow" host suffix, before any port.
import { describe, expect, it } from 'vitest';
import { shadowHead, shadowHost } from '../../../../workers/filters/mirror/request-mirror.js';

describe('shadowHost', () => {
  it('appends -shadow to the host, before the port when there is one', () => {
    expect(shadowHost('foo')).toBe('foo-shadow');
    expect(shadowHost('foo:8080')).toBe('foo-shadow:8080');
    expect(shadowHost('reviews.default.svc.cluster.local')).toBe('reviews.default.svc.cluster.local-shadow');
    expect(shadowHost('[::1]:80')).toBe('[::1]-shadow:80');
    expect(shadowHost('[::1]')).toBe('[::1]-shadow');
  });
});

describe('shadowHead', () => {
  it('rewrites only the host line of an upstream head', () => {
    const head = Buffer.from('POST /p?q=1 HTTP/1.1\r\nhost: svc:9080\r\nx-forwarded-for: 127.0.0.1\r\ncontent-length: 3\r\n\r\n', 'latin1');
    expect(shadowHead(head).toString('latin1')).toBe(
      'POST /p?q=1 HTTP/1.1\r\nhost: svc-shadow:9080\r\nx-forwarded-for: 127.0.0.1\r\ncontent-length: 3\r\n\r\n',
    );
  });
});
