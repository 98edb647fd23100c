// Real certificates for TLS tests, made with the `openssl` CLI in a temp
// folder: a CA, then leaves it signs (ECDSA P-256) with the DNS and URI
// subject-alt-names a test asks for, optionally already expired.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
}

export interface LeafOptions {
  readonly cn: string;
  readonly dns?: readonly string[];
  readonly uri?: readonly string[];
  /** Validity as openssl `ca` dates (YYYYMMDDHHMMSSZ); the default is valid from yesterday for a year. */
  readonly startDate?: string;
  readonly endDate?: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

/** A certificate authority in its own temp folder; leaf() issues certificates signed by it. */
export class TestCa {
  readonly dir: string;
  readonly cert: string;
  readonly certPath: string;
  private count = 0;

  constructor(name = 'Isthmus Test CA', dir?: string) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'isthmus-ca-'));
    const d = this.dir;
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], d);
    openssl(['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '3650', '-subj', `/CN=${name}`, '-out', 'ca.pem',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], d);
    writeFileSync(join(d, 'index.txt'), '');
    writeFileSync(join(d, 'serial'), '1000\n');
    this.certPath = join(d, 'ca.pem');
    this.cert = readFileSync(this.certPath, 'utf8');
  }

  /** Issues a leaf for both server and client use; the files are <dir>/<n>.pem and <n>.key. */
  leaf(options: LeafOptions): Pem {
    const n = `leaf${++this.count}`;
    const d = this.dir;
    const sans = [...(options.dns ?? []).map((x) => `DNS:${x}`), ...(options.uri ?? []).map((x) => `URI:${x}`)];
    const now = Date.now();
    const cnf = [
      '[ca]', 'default_ca = test', '[test]', `dir = ${d}`, 'database = $dir/index.txt', 'serial = $dir/serial',
      'new_certs_dir = $dir', 'certificate = $dir/ca.pem', 'private_key = $dir/ca.key', 'default_md = sha256',
      'policy = any', 'unique_subject = no', 'copy_extensions = none', '[any]', 'commonName = supplied',
      '[ext]', 'basicConstraints = CA:FALSE', 'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = serverAuth,clientAuth', ...(sans.length > 0 ? [`subjectAltName = ${sans.join(',')}`] : []),
    ].join('\n');
    writeFileSync(join(d, `${n}.cnf`), cnf);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${n}.ec`], d);
    openssl(['pkcs8', '-topk8', '-nocrypt', '-in', `${n}.ec`, '-out', `${n}.key`], d);
    openssl(['req', '-new', '-key', `${n}.key`, '-subj', `/CN=${options.cn}`, '-out', `${n}.csr`], d);
    openssl(['ca', '-batch', '-config', `${n}.cnf`, '-extensions', 'ext', '-notext', '-in', `${n}.csr`, '-out', `${n}.pem`,
      '-startdate', options.startDate ?? stamp(new Date(now - 86_400_000)),
      '-enddate', options.endDate ?? stamp(new Date(now + 365 * 86_400_000))], d);
    const certPath = join(d, `${n}.pem`);
    const keyPath = join(d, `${n}.key`);
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
  }

  /** A leaf whose validity ended a day ago. */
  expiredLeaf(options: LeafOptions): Pem {
    const now = Date.now();
    return this.leaf({ ...options, startDate: stamp(new Date(now - 10 * 86_400_000)), endDate: stamp(new Date(now - 86_400_000)) });
  }
}
