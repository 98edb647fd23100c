// The control plane's admin token file: created once (random, mode 0600),
// the same token on every later start, a loose mode narrowed and reported,
// a file that is not a token refused with its path.
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminTokenPath, ensureAdminToken, readAdminToken } from '../../../control/admin/admin-token.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'isthmus-admin-token-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('admin token', () => {
  it('is created once with mode 0600 in a new data dir, then read back', () => {
    const dataDir = join(root, 'data');
    expect(readAdminToken(dataDir)).toBeUndefined();
    const token = ensureAdminToken(dataDir, () => expect.unreachable());
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(adminTokenPath(dataDir)).mode & 0o777).toBe(0o600);
    expect(ensureAdminToken(dataDir, () => expect.unreachable())).toBe(token);
    expect(readAdminToken(dataDir)).toBe(token);
    expect(ensureAdminToken(join(root, 'other'), () => undefined)).not.toBe(token);
  });

  it('narrows a token file others can read to 0600, and says so', () => {
    writeFileSync(adminTokenPath(root), 'abc123\n');
    chmodSync(adminTokenPath(root), 0o644);
    const loose: number[] = [];
    expect(ensureAdminToken(root, (_path, mode) => loose.push(mode))).toBe('abc123');
    expect(loose).toEqual([0o644]);
    expect(statSync(adminTokenPath(root)).mode & 0o777).toBe(0o600);
  });

  it('refuses a file that is not a token, naming it', () => {
    writeFileSync(adminTokenPath(root), 'two words\n', { mode: 0o600 });
    expect(() => ensureAdminToken(root, () => undefined)).toThrow(`${adminTokenPath(root)}: not an admin token`);
    writeFileSync(adminTokenPath(root), '\n', { mode: 0o600 });
    expect(() => readAdminToken(root)).toThrow('not an admin token');
  });
});
