// The policy runtime's metrics on the control plane's /metrics (Prometheus
// text 0.0.4): Checks by answer and by service (Mixer or ext_authz), Report
// attribute sets and dropped batches, the adapter pool's queue, the Check
// latency (gRPC arrival to answer). Counting is a few number writes; render on scrape.
import { Histogram } from '../mesh/push-metrics.js';

/** Seconds: a Check that reaches no slow adapter answers in well under a millisecond. */
export const CHECK_LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];

export type CheckService = 'mixer' | 'ext_authz';
export type CheckOutcome = 'ok' | 'denied' | 'unavailable';

const family = (name: string, type: string, help: string): string => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;

/** Counter slots: service index * 3 + outcome index (no key string per Check). */
const SERVICES: readonly CheckService[] = ['mixer', 'ext_authz'];
const OUTCOMES: readonly CheckOutcome[] = ['ok', 'denied', 'unavailable'];
const slot = (service: CheckService, outcome: CheckOutcome): number => (service === 'mixer' ? 0 : 3) + (outcome === 'ok' ? 0 : outcome === 'denied' ? 1 : 2);

export class MixerMetrics {
  private readonly checks = new Float64Array(SERVICES.length * OUTCOMES.length);
  readonly checkLatency = new Histogram(CHECK_LATENCY_BUCKETS);
  /** Attribute sets received in Report calls. */
  reports = 0;
  /** Report calls. */
  reportBatches = 0;
  /** Quota answers that were RESOURCE_EXHAUSTED. */
  quotaExhausted = 0;
  /** Config changes whose policy could not be loaded (the previous rules kept answering). */
  reloadFailures = 0;

  countCheck(service: CheckService, outcome: CheckOutcome, seconds: number): void {
    this.checks[slot(service, outcome)]!++;
    this.checkLatency.observe(seconds);
  }

  checkCount(service: CheckService, outcome: CheckOutcome): number {
    return this.checks[slot(service, outcome)]!;
  }

  /** takes the pool's live figures; returns the text block. */
  render(pool: { queueSize: number; droppedReports: number; rules: number; handlers: number }): string {
    let out = family('isthmus_mixer_checks_total', 'counter', 'Policy Checks answered, by service (mixer: isthmus.mixer.v1.Mixer; ext_authz: Envoy\'s Authorization) and outcome (ok, denied, unavailable: the adapter pool was full).');
    for (const service of ['mixer', 'ext_authz'] as const) {
      for (const outcome of ['ok', 'denied', 'unavailable'] as const) out += `isthmus_mixer_checks_total{service="${service}",outcome="${outcome}"} ${this.checkCount(service, outcome)}\n`;
    }
    out += family('isthmus_mixer_check_denials_total', 'counter', 'Checks answered with a non-OK precondition (denied), both services.')
      + `isthmus_mixer_check_denials_total ${this.checkCount('mixer', 'denied') + this.checkCount('ext_authz', 'denied')}\n`;
    out += family('isthmus_mixer_quota_exhausted_total', 'counter', 'Quota answers that were RESOURCE_EXHAUSTED.') + `isthmus_mixer_quota_exhausted_total ${this.quotaExhausted}\n`;
    out += family('isthmus_mixer_check_duration_seconds', 'histogram', 'Time from a Check\'s arrival to its answer.') + this.checkLatency.render('isthmus_mixer_check_duration_seconds');
    out += family('isthmus_mixer_report_batches_total', 'counter', 'Report calls received.') + `isthmus_mixer_report_batches_total ${this.reportBatches}\n`;
    out += family('isthmus_mixer_reports_total', 'counter', 'Attribute sets (finished requests) received in Report calls.') + `isthmus_mixer_reports_total ${this.reports}\n`;
    out += family('isthmus_mixer_report_batches_dropped_total', 'counter', 'Per-handler report batches dropped because the adapter pool was busy.') + `isthmus_mixer_report_batches_dropped_total ${pool.droppedReports}\n`;
    out += family('isthmus_mixer_pool_queue', 'gauge', 'Adapter calls waiting for a pool thread.') + `isthmus_mixer_pool_queue ${pool.queueSize}\n`;
    out += family('isthmus_mixer_rules', 'gauge', 'Policy rules in force.') + `isthmus_mixer_rules ${pool.rules}\n`;
    out += family('isthmus_mixer_handlers', 'gauge', 'Policy handlers in force.') + `isthmus_mixer_handlers ${pool.handlers}\n`;
    out += family('isthmus_mixer_reload_failures_total', 'counter', 'Config changes whose policy could not be loaded (the previous rules kept answering).') + `isthmus_mixer_reload_failures_total ${this.reloadFailures}\n`;
    return out;
  }
}
