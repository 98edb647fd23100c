// The peers the bench compares against, started for real from the configs it writes.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPeerBinary, haproxyConfig, nginxConfig, startPeer, type PeerName } from '../../bench/peers.js';

describe('peer configs', () => {
  it('point the peer at the upstream with upstream keep-alive and one worker', () => {
    const config = { listenPort: 4000, upstreamPort: 5000, dir: '/tmp/x' };
    const nginx = nginxConfig(config);
    expect(nginx).toContain('worker_processes 1;');
    expect(nginx).toContain('listen 127.0.0.1:4000;');
    expect(nginx).toContain('server 127.0.0.1:5000;');
    expect(nginx).toMatch(/keepalive \d+;/);
    const haproxy = haproxyConfig(config);
    expect(haproxy).toContain('nbthread 1');
    expect(haproxy).toContain('bind 127.0.0.1:4000');
    expect(haproxy).toContain('server upstream1 127.0.0.1:5000');
  });

  it('each installed peer starts, proxies a request to the upstream and stops', async () => {
    const upstream = createServer((_req, res) => res.end('from upstream'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'bench-peers-'));
    const installed = (['nginx', 'haproxy'] as PeerName[]).filter((name) => findPeerBinary(name) !== null);
    try {
      for (const name of installed) {
        const peer = await startPeer(name, findPeerBinary(name)!, upstreamPort, join(dir, name));
        try {
          const response = await fetch(`http://127.0.0.1:${peer.ready}/`);
          expect(await response.text(), name).toBe('from upstream');
        } finally {
          await peer.stop();
        }
        expect(peer.exited, name).toBe(true);
      }
    } finally {
      upstream.closeAllConnections();
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(findPeerBinary('definitely-not-a-peer' as PeerName)).toBeNull();
  }, 30_000);
});
