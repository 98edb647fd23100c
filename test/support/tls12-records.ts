// A TLS 1.2 client's records made by hand, for tests that must send what no
// TLS library sends on demand (a flood of renegotiation requests, say). A real
// Node client does the handshake (ECDHE-ECDSA-AES128-GCM-SHA256); its `keylog`
// line gives the master secret and the ServerHello on the wire the server
// random, so the client's write key follows from the TLS 1.2 PRF (RFC 5246
// §5, §6.3) and records can be sealed as the client would (RFC 5288).
import { createCipheriv, createHmac } from 'node:crypto';

export const TLS12_AES128_GCM = 'ECDHE-ECDSA-AES128-GCM-SHA256';

/** P_SHA256(secret, label + seed) cut to `length` bytes. */
export function prf12(secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out: Buffer[] = [];
  let a = labelSeed;
  let have = 0;
  while (have < length) {
    a = createHmac('sha256', secret).update(a).digest();
    const block = createHmac('sha256', secret).update(a).update(labelSeed).digest();
    out.push(block);
    have += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** The 32-byte random of the first ServerHello in the bytes a server sent, or null if they do not hold it yet. */
export function serverRandom(fromServer: Buffer): Buffer | null {
  // record header (5) then handshake header (4) then server_version (2) then random (32)
  if (fromServer.length < 43 || fromServer[0] !== 22 || fromServer[5] !== 2) return null;
  return Buffer.from(fromServer.subarray(11, 43));
}

/** Seals records as the client of one TLS 1.2 AES-128-GCM connection, from the sequence number after its Finished. */
export class Tls12ClientSealer {
  private readonly key: Buffer;
  private readonly salt: Buffer;
  private seq = 1n; // the Finished record was 0 in this epoch

  /** `keylogLine`: the client's `CLIENT_RANDOM <random> <master secret>` line. */
  constructor(keylogLine: string, serverRandomBytes: Buffer) {
    const parts = keylogLine.trim().split(' ');
    if (parts.length !== 3 || parts[0] !== 'CLIENT_RANDOM') throw new Error(`not a TLS 1.2 keylog line: ${keylogLine}`);
    const clientRandom = Buffer.from(parts[1]!, 'hex');
    const master = Buffer.from(parts[2]!, 'hex');
    // key_block = client_write_key(16) server_write_key(16) client_write_IV(4) server_write_IV(4)
    const block = prf12(master, 'key expansion', Buffer.concat([serverRandomBytes, clientRandom]), 40);
    this.key = block.subarray(0, 16);
    this.salt = block.subarray(32, 36);
  }

  /** One record of `type` carrying `plaintext` (at most 16 KB). */
  seal(type: number, plaintext: Buffer): Buffer {
    const explicit = Buffer.alloc(8);
    explicit.writeBigUInt64BE(this.seq++);
    const aad = Buffer.alloc(13);
    explicit.copy(aad, 0);
    aad[8] = type;
    aad.writeUInt16BE(0x0303, 9);
    aad.writeUInt16BE(plaintext.length, 11);
    const cipher = createCipheriv('aes-128-gcm', this.key, Buffer.concat([this.salt, explicit]));
    cipher.setAAD(aad);
    const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    const header = Buffer.alloc(5);
    header[0] = type;
    header.writeUInt16BE(0x0303, 1);
    header.writeUInt16BE(8 + sealed.length, 3);
    return Buffer.concat([header, explicit, sealed]);
  }
}
