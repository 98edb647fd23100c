// A pathological regular expression in a policy rule (issue 14: "a pathological
// regex in a rule costs linear time"): `matches("^(a+)+$")` against a 30 000
// character header through the client sidecar, reviews' sidecar and the
// control plane's Mixer Check. A backtracking engine would spend longer than
// the universe's age on it (the mesh fails closed here: the sidecar would answer
// 503 after its Check timeout); RE2 (re2js) answers in time linear in the input. The
// bound is relative to a plain comparison rule timed in the same run over the
// same header, so a loaded machine slows both alike. Runs in vitest.config.ts's
// SERIAL group (it times requests).
import { afterEach, describe, expect, it } from 'vitest';
import { mixerDoc } from '../support/mixer-config.js';
import { startPolicyMesh, type PolicyMesh } from '../support/policy-mesh.js';

const RULES = [
  mixerDoc('handler', 'deny-regex', 'compiledAdapter: denier\nparams:\n  status: { code: 7, message: not only a letters }'),
  mixerDoc('handler', 'deny-plain', 'compiledAdapter: denier\nparams:\n  status: { code: 7, message: not the word a }'),
  mixerDoc('instance', 'nothing', 'compiledTemplate: checknothing'),
  mixerDoc('rule', 'regex', 'match: request.path.startsWith("/regex") && !(request.headers["x-q"] | "").matches("^(a+)+$")\nactions:\n- handler: deny-regex\n  instances: [nothing]'),
  mixerDoc('rule', 'plain', 'match: request.path.startsWith("/plain") && (request.headers["x-q"] | "") != "a"\nactions:\n- handler: deny-plain\n  instances: [nothing]'),
].join('---\n');

const LENGTH = 30_000;
const ROUNDS = 7;

let mesh: PolicyMesh | null = null;

afterEach(async () => {
  await mesh?.stop();
  mesh = null;
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('a pathological regex in a policy rule', { timeout: 120_000 }, () => {
  it('(a+)+$ against 30 000 characters is answered about as fast as a plain comparison over the same header', async () => {
    // Fail closed: a Check the control plane cannot answer in time is a 503, not a pass.
    mesh = await startPolicyMesh({ files: { 'rules.yaml': RULES }, controlArgs: ['--policy-check-fail-closed', '--policy-check-timeout', '5s'] });
    const m = mesh;
    // A short value matches: the regex rule lets it through.
    expect((await m.get('/regex', { 'x-q': 'aaaa' })).status).toBe(200);
    const timed = async (path: string, value: string, body: string): Promise<number> => {
      const started = performance.now();
      const r = await m.get(path, { 'x-q': value });
      const took = performance.now() - started;
      expect(`${r.status} ${r.body}`).toBe(`403 PERMISSION_DENIED:${body}`);
      return took;
    };
    const regex: number[] = [];
    const plain: number[] = [];
    // Each value is new (no cached answer): every request is a Check the control plane decides. Interleaved, so
    // both see the same load.
    for (let i = 0; i < ROUNDS; i++) {
      const hostile = `${'a'.repeat(LENGTH + i)}b`;
      regex.push(await timed(`/regex/${i}`, hostile, 'not only a letters'));
      plain.push(await timed(`/plain/${i}`, hostile, 'not the word a'));
    }
    // Linear time: the regex costs the control plane a scan of the value (milliseconds in re2js), on top of
    // the same transfer and Check. A backtracking engine never answers (the Check times out: 503, caught above).
    expect(median(regex), `regex ${regex.map(Math.round).join(',')} ms, plain ${plain.map(Math.round).join(',')} ms`)
      .toBeLessThan(median(plain) * 4 + 50);
  });
});
