// `isthmus proxy`: parse options, start the agent, and turn signals into
// reloads (SIGHUP) and graceful shutdowns (SIGTERM, SIGINT).
import { createLogger, reportStartFailure } from '../../src/log.js';
import { GracefulStop, exitProcess } from '../../src/process/graceful-stop.js';
import { helpText } from '../../src/cli/options.js';
import { limitInliningForWorkers } from '../../src/process/inlining-budget.js';
import { releaseStartupPages, startStartupReleaser, stopStartupReleaser } from '../../src/process/startup-pages.js';
import type { ProxyAgent } from './proxy-agent.js';
import { PROXY_COMMAND, parseProxyOptions } from './proxy-options.js';

/** Entry point from src/cli/main.ts; resolves once the proxy serves (the process then lives until a signal). */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseProxyOptions(argv);
  // bin/isthmus.js started the startup releaser before options were parsed: --help, an option error or `keep` stop it.
  if (parsed.help || parsed.options.startupPages !== 'release') stopStartupReleaser();
  if (parsed.help) {
    process.stdout.write(helpText(PROXY_COMMAND));
    return 0;
  }
  const options = parsed.options;
  // Before any worker isolate compiles: their first second under load is the peak (src/process/inlining-budget.ts).
  limitInliningForWorkers(options.workers);
  // Startup's own pages go at each phase end, so they never pile up (Node's bootstrap and the CLI here, the
  // module graph below, the rest once serving: proxy-agent.ts): peak RSS is what serving needs.
  releaseStartupPages(options.startupPages);
  // ... and inside the phases too, where the peak is, until the proxy serves (proxy-agent.ts stops it); bin/isthmus.js
  // has started it already, before the CLI's modules loaded; this starts it when the proxy was started another way.
  startStartupReleaser(options.startupPages);
  // Loaded after option parsing so `--help` and option errors stay instant (no uWS, LMDB or YAML load).
  const { ProxyAgent, ProxyStartError } = await import('./proxy-agent.js');
  releaseStartupPages(options.startupPages);
  const log = createLogger('isthmus-proxy', options.logLevel, { format: options.logFormat });

  let agent: ProxyAgent | null = null;
  const stop = new GracefulStop(log, 'proxy').onSignals();
  process.on('SIGHUP', () => void agent?.reload('SIGHUP'));

  try {
    agent = await ProxyAgent.start(options, log, () => stop.request('admin quitquitquit'));
  } catch (err) {
    stopStartupReleaser();
    if (!(err instanceof ProxyStartError)) throw err;
    // (a signal that arrived meanwhile changes nothing: nothing was served)
    // Every problem, on stderr, so a person at a terminal sees it even with --log-level silent.
    reportStartFailure(log, 'proxy', err.message);
    exitProcess(1);
  }
  stop.started(agent);
  return 0;
}
