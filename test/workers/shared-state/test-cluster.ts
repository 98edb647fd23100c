// Hand-built cluster configs for the shared-state tests (Envoy's defaults, as the readers fill them).
import type { Cluster, OutlierDetection } from '../../../src/config/bootstrap-types.js';

export const OUTLIER_DEFAULTS: OutlierDetection = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  enforcingSuccessRate: 100,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1900,
};

export function testCluster(name: string, ports: readonly number[], over: Partial<Cluster> = {}): Cluster {
  return {
    name,
    type: 'STATIC',
    connectTimeoutMs: 1000,
    lbPolicy: 'ROUND_ROBIN',
    ringHash: { minRingSize: 1024, maxRingSize: 8_388_608 },
    maglevTableSize: 65_537,
    peakEwmaDecayMs: 10_000,
    circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, retryBudget: null },
    outlierDetection: null,
    healthCheck: null,
    healthyPanicThresholdPercent: 50,
    overprovisioningFactor: 140,
    endpoints: ports.map((port) => ({ address: '127.0.0.1', port, weight: 1, locality: { region: '', zone: '', subZone: '' }, priority: 0 })),
    ...over,
  };
}
