// What a person reads when a bootstrap field is misspelt or misindented: the
// field they meant, the level where the field belongs, and a long path shown
// from its nearest named object instead of 120 characters of indices.
import { describe, expect, it } from 'vitest';
import { bootstrapText, lineOf, problemLines } from './bootstrap-text.js';

describe('config problem hints', () => {
  it('suggests the field meant for a misspelt one, and names the virtual host instead of a long path', () => {
    const parts = { route: { match: { prefx: '/shop' } } };
    expect(problemLines(parts)).toContain(
      `b.yaml:${lineOf(bootstrapText(parts), 'prefx')}: virtual host "web" › routes[0].match.prefx is not supported; did you mean 'prefix'?`,
    );
  });

  it('says a field indented one level too shallow belongs one level down', () => {
    const parts = { route: { timeout: '5s' } }; // the route action's timeout, written beside `match` and `route`
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(bootstrapText(parts), 'timeout: 5s')}: virtual host "web" › routes[0].timeout is not supported; it belongs one level down, in route (indent it more)`,
    ]);
  });

  it('says a field indented one level too deep belongs one level up, naming where', () => {
    const parts = { cluster: { load_assignment: { cluster_name: 'a', connect_timeout: '1s', endpoints: [] } } };
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(bootstrapText(parts), 'connect_timeout')}: static_resources.clusters[0].load_assignment.connect_timeout is not supported; it belongs one level up, in cluster "a" (indent it less)`,
    ]);
  });

  it('gives no hint when nothing known is near', () => {
    const parts = { cluster: { frobnicate: true } };
    expect(problemLines(parts)).toEqual([`b.yaml:${lineOf(bootstrapText(parts), 'frobnicate')}: static_resources.clusters[0].frobnicate is not supported`]);
  });
});
