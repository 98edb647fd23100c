// What the bench measures: the targets a load run can point at, each with the
// scenario it belongs to and how to start it. `direct` is the upstream itself;
// `proxy` puts one proxy (Isthmus with 1 worker, nginx with 1 worker, haproxy
// with nbthread 1) in front of it; `proxy-2w` is Isthmus with 2 workers (for
// memory); `uws-front` is Isthmus's route table behind a uWS listener.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compiledSibling } from '../src/process/compiled-path.js';
import { startIsthmus } from './isthmus-target.js';
import type { LoadMode } from './load-protocol.js';
import { parseJsonLine, startManagedProcess, type ManagedProcess } from '../src/process/managed-process.js';
import { findPeerBinary, startPeer, type PeerName } from './peers.js';

export interface StartContext {
  readonly upstreamPort: number;
  /** A directory of the target's own (configs, data). */
  readonly dir: string;
}

export interface RunningTarget {
  readonly port: number;
  /** Process sampled for CPU and RSS; null for direct (there is no proxy). */
  readonly pid: number | null;
  /** null while it runs; once its process has exited, how (with its last output). */
  exitReport(): string | null;
  stop(): Promise<void>;
}

export interface TargetSpec {
  /** The name used to select it: `isthmus bench direct isthmus`. */
  readonly id: string;
  readonly scenario: string;
  readonly target: string;
  readonly modes: readonly LoadMode[];
  /** null when it can run on this machine, else why not. */
  unavailable(): string | null;
  start(context: StartContext): Promise<RunningTarget>;
}

function fromProcess(proc: ManagedProcess<unknown>, port: number): RunningTarget {
  return {
    port,
    pid: proc.pid,
    exitReport: () => (proc.exited ? `exited unexpectedly (${proc.exitDescription}); its last output:\n${proc.recentOutput()}` : null),
    stop: async () => {
      await proc.stop();
    },
  };
}

function peer(name: PeerName): TargetSpec {
  return {
    id: name,
    scenario: 'proxy',
    target: name,
    modes: ['max', 'fixed'],
    unavailable: () => (findPeerBinary(name) === null ? `${name} is not installed` : null),
    start: async ({ upstreamPort, dir }) => {
      const proc = await startPeer(name, findPeerBinary(name)!, upstreamPort, dir);
      return fromProcess(proc, proc.ready!);
    },
  };
}

function isthmus(id: string, scenario: string, workers: number, modes: readonly LoadMode[]): TargetSpec {
  return {
    id,
    scenario,
    target: 'isthmus',
    modes,
    unavailable: () => null,
    start: async ({ upstreamPort, dir }) => {
      const proc = await startIsthmus(upstreamPort, workers, dir);
      return fromProcess(proc, proc.ready!.listenPort);
    },
  };
}

const uwsFront: TargetSpec = {
  id: 'uws-front',
  scenario: 'uws-front',
  target: 'isthmus',
  modes: ['max'],
  unavailable: () => {
    try {
      const routeTable = compiledSibling(import.meta.url, join('..', 'src', 'routing', 'route-table.js'));
      return existsSync(routeTable) ? null : 'src/routing/route-table.ts is not built yet';
    } catch (err) {
      return (err as Error).message;
    }
  },
  start: async ({ upstreamPort }) => {
    const script = compiledSibling(import.meta.url, 'uws-front-server.js');
    const proc = await startManagedProcess({
      name: 'uws-front',
      command: process.execPath,
      args: [script, '--upstream-port', String(upstreamPort)],
      readyLine: (line) => {
        const record = parseJsonLine(line);
        return record?.msg === 'uws-front ready' && typeof record.port === 'number' ? record.port : undefined;
      },
    });
    return fromProcess(proc, proc.ready!);
  },
};

export const DIRECT: TargetSpec = {
  id: 'direct',
  scenario: 'direct',
  target: 'direct',
  modes: ['max', 'fixed'],
  unavailable: () => null,
  start: async ({ upstreamPort }) => ({ port: upstreamPort, pid: null, exitReport: () => null, stop: async () => {} }),
};

/** Every target, in the order a run visits them. */
export const TARGETS: readonly TargetSpec[] = [
  DIRECT,
  isthmus('isthmus', 'proxy', 1, ['max', 'fixed']),
  peer('haproxy'),
  peer('nginx'),
  isthmus('isthmus-2w', 'proxy-2w', 2, ['max']),
  uwsFront,
];

/** Ids accepted on the command line (targets plus 'wrk', the client baseline); run when none is named. */
export const SELECTABLE = [...TARGETS.map((t) => t.id), 'wrk'] as const;

/** The control plane's scenario (bench/xds-scenario.ts): only when named (`isthmus bench xds`). */
export const XDS_TARGET = 'xds';

/** Starts the bench upstream (its own process) and resolves with it once it listens. */
export async function startUpstream(bodyBytes = 1024): Promise<ManagedProcess<number>> {
  const script = compiledSibling(import.meta.url, 'upstream-server.js');
  return startManagedProcess({
    name: 'upstream',
    command: process.execPath,
    args: [script, '--body-bytes', String(bodyBytes)],
    readyLine: (line) => {
      const record = parseJsonLine(line);
      return record?.msg === 'upstream ready' && typeof record.port === 'number' ? record.port : undefined;
    },
  });
}
