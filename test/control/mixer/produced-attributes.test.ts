// Every attribute issue 14 lists is set by someone in the mesh (the proxy's
// filter, the statics the control plane writes into it, or the control
// plane's workload lookup): a name dropped from any of them makes this fail,
// and analyze would then warn about rules reading it.
import { describe, expect, it } from 'vitest';
import { isProducedAttribute } from '../../../control/mixer/produced-attributes.js';

const LISTED = [
  'source.ip', 'source.principal', 'source.namespace', 'source.labels', 'source.workload.name', 'destination.service.host',
  'destination.service.name', 'destination.labels', 'destination.port', 'request.path', 'request.host', 'request.method', 'request.scheme',
  'request.headers', 'request.useragent', 'request.size', 'request.time', 'response.code', 'response.size', 'response.duration',
  'connection.mtls', 'context.protocol', 'context.reporter.kind',
];

describe('isProducedAttribute', () => {
  it('holds every attribute the issue lists, and not the ones nothing sets', () => {
    expect(LISTED.filter((a) => !isProducedAttribute(a))).toEqual([]);
    expect(['source.owner', 'request.auth.principal', 'connection.id', 'check.cache_hit'].filter(isProducedAttribute)).toEqual([]);
  });
});
