// Peer proxies measured beside Isthmus on the same scenario: nginx (1 worker)
// and haproxy (nbthread 1), each proxying to the bench upstream with upstream
// keep-alive, as an operator would tune them. The suite writes their configs
// into a temp dir, starts and stops them itself, and installs nothing: a peer
// that is not on PATH is skipped and reported so.
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startManagedProcess, type ManagedProcess } from '../src/process/managed-process.js';

export type PeerName = 'nginx' | 'haproxy';

export interface PeerConfig {
  /** Port the peer listens on (127.0.0.1). */
  readonly listenPort: number;
  readonly upstreamPort: number;
  /** Directory for the config, pid file and temp paths. */
  readonly dir: string;
}

/** Absolute path of a peer (or tool) binary, or null when it is not installed. */
export function findPeerBinary(name: PeerName | 'wrk'): string | null {
  for (const dir of ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')]) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return null;
}

export function nginxConfig(config: PeerConfig): string {
  const tmp = (name: string): string => join(config.dir, name);
  const asRoot = process.getuid?.() === 0;
  return `# written by isthmus bench: nginx, 1 worker, upstream keep-alive
daemon off;
${asRoot ? 'user root;\n' : ''}worker_processes 1;
pid ${tmp('nginx.pid')};
error_log stderr warn;
events { worker_connections 10240; }
http {
  access_log off;
  client_body_temp_path ${tmp('client_body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  keepalive_requests 10000000;
  upstream bench_upstream {
    server 127.0.0.1:${config.upstreamPort};
    keepalive 256;
    keepalive_requests 10000000;
  }
  server {
    listen 127.0.0.1:${config.listenPort};
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

export function haproxyConfig(config: PeerConfig): string {
  return `# written by isthmus bench: haproxy, nbthread 1, upstream connection reuse
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend bench_front
  bind 127.0.0.1:${config.listenPort}
  default_backend bench_upstream
backend bench_upstream
  server upstream1 127.0.0.1:${config.upstreamPort}
`;
}

/** A free loopback port (the kernel's choice; released before the peer binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Writes the peer's config into `dir` and starts it; resolves once its port accepts. */
export async function startPeer(name: PeerName, binary: string, upstreamPort: number, dir: string): Promise<ManagedProcess<number>> {
  mkdirSync(dir, { recursive: true });
  const listenPort = await freePort();
  const config: PeerConfig = { listenPort, upstreamPort, dir };
  if (name === 'nginx') {
    const file = join(dir, 'nginx.conf');
    writeFileSync(file, nginxConfig(config));
    return startManagedProcess({ name, command: binary, args: ['-p', dir, '-c', file, '-e', 'stderr'], readyPort: listenPort });
  }
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(config));
  return startManagedProcess({ name, command: binary, args: ['-f', file, '-db'], readyPort: listenPort });
}
