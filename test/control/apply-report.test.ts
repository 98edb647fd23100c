// What `isthmus apply` prints for the control plane's answer: problems and
// warnings each on a line of their own, placed in the user's file.
import { describe, expect, it } from 'vitest';
import { formatApiReport } from '../../control/apply-report.js';

describe('formatApiReport', () => {
  it('places errors and warnings at their line of the file given, one per line', () => {
    expect(formatApiReport([
      { key: 'VirtualService/default/reviews', outcome: 'rejected', reason: "apply:9: spec.http[0].route[0].weight must be an integer; apply:12: spec.hostz is not supported; did you mean 'hosts'?" },
      { key: 'DestinationRule/default/reviews', outcome: 'rejected', reason: 'not applied: the request had rejected documents (apply:1)' },
    ], 'mesh.yaml')).toBe([
      'VirtualService/default/reviews rejected:',
      '  mesh.yaml:9: error: spec.http[0].route[0].weight must be an integer',
      "  mesh.yaml:12: error: spec.hostz is not supported; did you mean 'hosts'?",
      'DestinationRule/default/reviews rejected: not applied: the request had rejected documents (mesh.yaml:1)',
      '',
    ].join('\n'));
  });

  it('shows analyze findings under the resource (warnings as warnings, the rest as errors), and names stdin', () => {
    expect(formatApiReport([
      {
        key: 'DestinationRule/default/ratings', outcome: 'created',
        findings: ['api:DestinationRule/default/ratings:5: warning: spec.host ratings.default.svc.cluster.local is not defined by any ServiceEntry (IST0101 ReferencedResourceNotFound)'],
      },
      { key: 'VirtualService/default/reviews', outcome: 'configured', findings: ['api:VirtualService/default/reviews:15: spec.http[0].route[0].destination.subset "v2" is not defined'] },
    ], '-')).toBe([
      'DestinationRule/default/ratings created',
      '  <stdin>:5: warning: spec.host ratings.default.svc.cluster.local is not defined by any ServiceEntry (IST0101 ReferencedResourceNotFound)',
      'VirtualService/default/reviews configured',
      '  <stdin>:15: error: spec.http[0].route[0].destination.subset "v2" is not defined',
      '',
    ].join('\n'));
  });

  it('leaves the location of a resource from another request as the control plane names it (it is not in this file)', () => {
    expect(formatApiReport([
      {
        key: 'VirtualService/default/reviews2', outcome: 'created',
        findings: ['api:VirtualService/default/reviews2:6: spec.hosts[0] reviews.default.svc.cluster.local is also routed by VirtualService default/reviews (api:VirtualService/default/reviews:1), which is used for it'],
      },
    ], 'vs2.yaml')).toBe([
      'VirtualService/default/reviews2 created',
      '  vs2.yaml:6: error: spec.hosts[0] reviews.default.svc.cluster.local is also routed by VirtualService default/reviews (api:VirtualService/default/reviews:1), which is used for it',
      '',
    ].join('\n'));
  });

  it('says so when nothing changed', () => {
    expect(formatApiReport([{ key: 'ServiceEntry/default/reviews', outcome: 'unchanged' }], 'se.yaml'))
      .toBe('ServiceEntry/default/reviews unchanged\nunchanged: the control plane already serves this resource as given\n');
  });
});
