// The demo's steady traffic: a few requests a second to productpage, one in
// five as end-user jason (who gets the ratings fault), so the dashboard has
// something to show. Gentle and bounded: at most MAX_IN_FLIGHT requests at
// once (a tick is skipped when the mesh is slower than the rate).
import { Agent, get } from 'node:http';

const MAX_IN_FLIGHT = 4;
const TIMEOUT_MS = 5000;

export interface LoadCounts {
  sent: number;
  ok: number;
  failed: number;
  skipped: number;
}

export class LoadGenerator {
  readonly counts: LoadCounts = { sent: 0, ok: 0, failed: 0, skipped: 0 };
  private readonly agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;

  /** `port`: productpage's sidecar inbound; `rate`: requests per second. */
  constructor(
    private readonly port: number,
    private readonly rate: number,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), Math.round(1000 / this.rate));
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.agent.destroy();
  }

  private tick(): void {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.counts.skipped++;
      return;
    }
    const jason = this.counts.sent % 5 === 4;
    this.counts.sent++;
    this.inFlight++;
    const headers: Record<string, string> = { 'user-agent': 'isthmus-up-load' };
    if (jason) headers['end-user'] = 'jason';
    let finished = false;
    const done = (ok: boolean): void => {
      if (finished) return;
      finished = true;
      this.done(ok);
    };
    const req = get({ host: '127.0.0.1', port: this.port, path: '/productpage', headers, agent: this.agent, timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      res.once('end', () => done(res.statusCode === 200));
      res.once('error', () => done(false));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => done(false));
  }

  private done(ok: boolean): void {
    this.inFlight--;
    if (ok) this.counts.ok++;
    else this.counts.failed++;
  }
}
