// Entry point of a data-plane worker thread (--workers N >= 2): one
// DataPlane, fed config versions announced on the BroadcastChannel and
// answering the agent's queries over parentPort.
import { BroadcastChannel, parentPort, workerData } from 'node:worker_threads';
import { collectStartupGarbage } from '../src/process/startup-garbage.js';
import { releaseStartupPages } from '../src/process/startup-pages.js';
import { ProxyStore } from '../src/store/proxy-store.js';
import { DataPlane } from './data-plane.js';
import { MessagePolicyTransport, setPolicyTransport } from './filters/mixer/policy-transport.js';
import { WorkerLog } from './worker-log.js';
import { CONFIG_CHANNEL, type AgentMessage, type ConfigAnnouncement, type WorkerInit, type WorkerMessage } from './worker-protocol.js';

const init = workerData as WorkerInit;
// This thread's boot (Node's worker bootstrap, the data-plane module graph) is a startup phase too.
releaseStartupPages(init.startupPages ?? 'keep');
const port = parentPort!;
const store = ProxyStore.open(init.dataDir);
const post = (message: WorkerMessage): void => port.postMessage(message);
// The agent writes this worker's log lines (worker-log.ts: no pino in a worker isolate).
const log = new WorkerLog((record) => post({ type: 'log', record }), init.logLevel);
const dataPlane = new DataPlane(init, store, log, post);
const channel = new BroadcastChannel(CONFIG_CHANNEL);
// The policy filter's Checks and Reports go to the agent, which holds the gRPC channel.
const policy = new MessagePolicyTransport((message, transfer) => port.postMessage(message, transfer));
setPolicyTransport(policy);

async function shutdown(timeoutMs: number): Promise<void> {
  channel.close();
  await dataPlane.shutdown(timeoutMs);
  await store.close();
  post({ type: 'drained' });
  port.close();
}

port.on('message', (msg: AgentMessage) => {
  switch (msg.type) {
    case 'stats':
      post({ type: 'stats', id: msg.id, snapshot: dataPlane.statsSnapshot() });
      break;
    case 'clusters':
      post({ type: 'clusters', id: msg.id, clusters: dataPlane.clusterStatus() });
      break;
    case 'drain-listeners':
      dataPlane.drainListeners();
      break;
    case 'log-level':
      log.setLevel(msg.level);
      break;
    case 'shutdown':
      void shutdown(msg.timeoutMs);
      break;
    case 'policy-check-result':
      policy.onReply(msg);
      break;
  }
});

channel.onmessage = (event: unknown) => {
  const { version, secrets } = (event as { data: ConfigAnnouncement }).data;
  dataPlane.applyVersion(version, secrets);
};

dataPlane.applyVersion(store.activeVersion());
// This thread's startup is over once it serves: its garbage goes before load arrives (startup-garbage.ts).
if (init.startupPages === 'release') setImmediate(() => collectStartupGarbage());
