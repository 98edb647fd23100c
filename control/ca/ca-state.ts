// The CA's persistent state behind one small interface (DESIGN.md section 4:
// several control replicas will share it through etcd later): the root made
// on first start, the bootstrap-token signing key, issued serials, tokens and
// revocations. Today's implementation is the `ca` database of the control
// plane's LMDB environment.
import { randomBytes } from 'node:crypto';
import type { Database } from 'lmdb';
import type { StoredRoot } from './ca-material.js';
import type { RootRotation } from './root-rotation.js';

export interface IssuedSerial {
  readonly spiffeId: string;
  readonly tokenId: string;
  readonly notAfter: string;
  readonly issuedAt: string;
}

export interface TokenRecord {
  readonly id: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly expiresAt: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

export interface CaState {
  /** The stored root, creating it with `make` when there is none (one writer wins). */
  rootOrCreate(make: () => Promise<StoredRoot>): Promise<StoredRoot>;
  /** The root rotation in progress, if any (root-rotation.ts). */
  rotation(): RootRotation | undefined;
  /** Stores the signing root and the rotation (undefined: none) together. */
  putRoots(root: StoredRoot, rotation: RootRotation | undefined): Promise<void>;
  /** The key bootstrap tokens are signed with (32 random bytes, made once). */
  tokenKeyOrCreate(): Promise<Buffer>;
  recordSerial(serial: string, entry: IssuedSerial): void;
  serial(serial: string): IssuedSerial | undefined;
  putToken(record: TokenRecord): Promise<void>;
  token(id: string): TokenRecord | undefined;
  tokens(): TokenRecord[];
  /** Drops serials and token records that expired before `before` (bounded growth). */
  prune(before: number): Promise<number>;
}

const ROOT_KEY = 'root';
const TOKEN_KEY = 'token-key';
const ROTATION_KEY = 'root-rotation';
const SERIAL = 'serial/';
const TOKEN = 'token/';

export class LmdbCaState implements CaState {
  constructor(private readonly db: Database<unknown, string>) {}

  async rootOrCreate(make: () => Promise<StoredRoot>): Promise<StoredRoot> {
    const existing = this.db.get(ROOT_KEY) as StoredRoot | undefined;
    if (existing !== undefined) return existing;
    const made = await make();
    await this.db.ifNoExists(ROOT_KEY, () => this.db.put(ROOT_KEY, made));
    return this.db.get(ROOT_KEY) as StoredRoot;
  }

  rotation(): RootRotation | undefined {
    return this.db.get(ROTATION_KEY) as RootRotation | undefined;
  }

  async putRoots(root: StoredRoot, rotation: RootRotation | undefined): Promise<void> {
    await this.db.transaction(() => {
      void this.db.put(ROOT_KEY, root);
      if (rotation === undefined) void this.db.remove(ROTATION_KEY);
      else void this.db.put(ROTATION_KEY, rotation);
    });
  }

  async tokenKeyOrCreate(): Promise<Buffer> {
    const existing = this.db.get(TOKEN_KEY) as Uint8Array | undefined;
    if (existing !== undefined) return Buffer.from(existing);
    await this.db.ifNoExists(TOKEN_KEY, () => this.db.put(TOKEN_KEY, randomBytes(32)));
    return Buffer.from(this.db.get(TOKEN_KEY) as Uint8Array);
  }

  recordSerial(serial: string, entry: IssuedSerial): void {
    void this.db.put(SERIAL + serial, entry);
  }

  serial(serial: string): IssuedSerial | undefined {
    return this.db.get(SERIAL + serial) as IssuedSerial | undefined;
  }

  async putToken(record: TokenRecord): Promise<void> {
    await this.db.put(TOKEN + record.id, record);
  }

  token(id: string): TokenRecord | undefined {
    return this.db.get(TOKEN + id) as TokenRecord | undefined;
  }

  tokens(): TokenRecord[] {
    const out: TokenRecord[] = [];
    for (const { value } of this.db.getRange({ start: TOKEN, end: `${TOKEN}\uffff` })) out.push(value as TokenRecord);
    return out;
  }

  async prune(before: number): Promise<number> {
    let dropped = 0;
    for (const prefix of [SERIAL, TOKEN]) {
      for (const { key, value } of this.db.getRange({ start: prefix, end: `${prefix}\uffff` })) {
        const v = value as { notAfter?: string; expiresAt?: string };
        const end = Date.parse(v.notAfter ?? v.expiresAt ?? '');
        if (Number.isFinite(end) && end < before) {
          await this.db.remove(key);
          dropped++;
        }
      }
    }
    return dropped;
  }
}
