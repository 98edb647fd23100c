// `isthmus proxy`: parse options, start the agent, and turn signals into
// reloads (SIGHUP) and graceful shutdowns (SIGTERM, SIGINT).
import { createLogger, flushLogs } from '../../src/log.js';
import { helpText } from '../../src/cli/options.js';
import type { ProxyAgent } from './proxy-agent.js';
import { PROXY_COMMAND, parseProxyOptions } from './proxy-options.js';

/** Entry point from src/cli/main.ts; resolves once the proxy serves (the process then lives until a signal). */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseProxyOptions(argv);
  if (parsed.help) {
    process.stdout.write(helpText(PROXY_COMMAND));
    return 0;
  }
  const options = parsed.options;
  // Loaded after option parsing so `--help` and option errors stay instant (no uWS, LMDB or YAML load).
  const { ProxyAgent, ProxyStartError } = await import('./proxy-agent.js');
  const log = createLogger('isthmus-proxy', options.logLevel);

  let agent: ProxyAgent | null = null;
  let exiting = false;
  let stopDuringStartup: string | null = null;
  const stop = (reason: string): void => {
    if (agent === null) {
      stopDuringStartup = reason; // handled once start() settles
      return;
    }
    if (exiting) {
      if (!reason.startsWith('SIG')) return; // a repeated /quitquitquit just waits for the drain under way
      log.warn({ reason }, 'second stop request: exiting without waiting for the drain');
      flushLogs();
      process.exit(1);
    }
    exiting = true;
    agent.shutdown(reason).then(
      () => exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Registered now: SIGHUP's default action would kill a proxy that is still starting (startup reads the file anyway).
  process.on('SIGHUP', () => void agent?.reload('SIGHUP'));

  try {
    agent = await ProxyAgent.start(options, log, () => stop('admin quitquitquit'));
  } catch (err) {
    if (!(err instanceof ProxyStartError)) throw err;
    // (a signal that arrived meanwhile changes nothing: nothing was served)
    // Every problem, on stderr, so a person at a terminal sees it even with --log-level silent.
    process.stderr.write(`isthmus proxy: ${err.message}\n`);
    log.fatal({ error: err.message }, 'proxy did not start');
    exit(1);
  }
  if (stopDuringStartup !== null) stop(stopDuringStartup);
  return 0;
}

function exit(code: number): never {
  flushLogs();
  process.exit(code);
}
