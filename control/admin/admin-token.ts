// The control plane's admin token: the bearer secret its write API (POST
// /apply, /delete) needs. Created at first start in the data dir, mode 0600,
// so only the user who runs the control plane (and can read its data dir)
// can write config through the API; `isthmus apply` / `delete` read it from
// the same place.
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ADMIN_TOKEN_FILE = 'admin-token';
const TOKEN_BYTES = 32;
const MAX_TOKEN_CHARS = 4096;

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, ADMIN_TOKEN_FILE);
}

function readToken(path: string): string {
  const token = readFileSync(path, 'utf8').trim();
  if (token === '' || token.length > MAX_TOKEN_CHARS || /\s/.test(token)) {
    throw new Error(`${path}: not an admin token (expected one line of up to ${MAX_TOKEN_CHARS} non-space characters)`);
  }
  return token;
}

/**
 * Takes the data dir; returns its token, creating it (random, mode 0600) when there is none.
 * `onLooseMode` is told when an existing file was readable by others (its mode is then narrowed to 0600).
 */
export function ensureAdminToken(dataDir: string, onLooseMode: (path: string, mode: number) => void): string {
  const path = adminTokenPath(dataDir);
  mkdirSync(dataDir, { recursive: true });
  // Written whole to a private temporary file, then linked into place: a crash or a full disk never leaves an
  // empty token file behind, and link() fails with EEXIST rather than overwrite a token another process made.
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, `${token}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    chmodSync(path, 0o600);
    onLooseMode(path, mode);
  }
  return readToken(path);
}

/** Takes a data dir; returns its token, or undefined when the file does not exist (other read errors throw). */
export function readAdminToken(dataDir: string): string | undefined {
  try {
    return readToken(adminTokenPath(dataDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
