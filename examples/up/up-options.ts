// `isthmus up`'s options (a module of its own, so `isthmus completion`
// reads them without loading the demo).
import type { CommandSpec } from '../../src/cli/options.js';
import { PORTS_USED } from './port-plan.js';

/** The default first port: productpage at http://127.0.0.1:20080/productpage, the dashboard on 20081. */
export const DEFAULT_PORTS_FROM = 20080;

export const UP_SPEC: CommandSpec = {
  name: 'up',
  summary: 'Runs the Bookinfo demo mesh on loopback: a control plane, productpage, details, reviews v1/v2/v3 and ratings, each with its own sidecar, configured from a folder of Istio YAML. Ctrl-C stops it.',
  usage: '[options]',
  options: [
    {
      name: 'ports-from', type: 'integer', valueName: 'N', default: DEFAULT_PORTS_FROM,
      description: `first of the ${PORTS_USED} contiguous loopback ports the demo takes (N: the app, N+1: the control plane's admin and dashboard)`,
      validate: (v) => (typeof v === 'number' && v >= 1024 && v + PORTS_USED - 1 <= 65535 ? undefined : `must be 1024-${65535 - PORTS_USED + 1}`),
    },
    { name: 'config-dir', type: 'string', valueName: 'DIR', description: 'the Istio config the control plane watches (default: examples/bookinfo of this package); edit it while the demo runs' },
    { name: 'no-traffic', type: 'boolean', default: false, description: 'do not start the built-in load generator (a few requests a second to productpage)' },
    {
      name: 'rate', type: 'integer', valueName: 'N', default: 3, description: 'requests per second the load generator sends (1 in 5 as end-user jason)',
      validate: (v) => (typeof v === 'number' && v >= 1 && v <= 100 ? undefined : 'must be 1-100'),
    },
  ],
};
