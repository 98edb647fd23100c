// The control plane's admin token: the bearer secret its write API (POST
// /apply, /delete) needs. Created at first start in the data dir, mode 0600,
// so only the user who runs the control plane (and can read its data dir)
// can write config through the API; `isthmus apply` / `delete` read it from
// the same place.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
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
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600); // 'wx': never overwrite a token another process just created
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      chmodSync(path, 0o600);
      onLooseMode(path, mode);
    }
    return readToken(path);
  }
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return token;
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
