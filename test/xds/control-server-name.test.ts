// A proxy that reaches the control plane by IP verifies its certificate by
// the name every serving certificate carries, never by the IP as TLS server
// name (RFC 6066; Node's DEP0123); by host name, nothing changes.
import { describe, expect, it } from 'vitest';
import { CONTROL_SERVER_NAME, controlChannelOptions } from '../../src/xds/control-server-name.js';

const OVERRIDE = { 'grpc.ssl_target_name_override': CONTROL_SERVER_NAME };

describe('controlChannelOptions', () => {
  it('names the control plane by CONTROL_SERVER_NAME for IPv4, IPv6 and scheme-prefixed IP targets', () => {
    for (const t of ['127.0.0.1:15012', '[::1]:15012', '::1', 'dns:127.0.0.1:15012', 'dns:///127.0.0.2:15012', 'ipv6:[::1]:15012', '10.0.0.1']) {
      expect(controlChannelOptions(t), t).toEqual(OVERRIDE);
    }
  });

  it('leaves host-name targets alone (the certificate is checked against that name)', () => {
    for (const t of ['localhost:15012', 'isthmus-control:15012', 'dns:///control.example:15012', 'control.example']) {
      expect(controlChannelOptions(t), t).toEqual({});
    }
  });
});
