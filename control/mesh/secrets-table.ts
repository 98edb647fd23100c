// `isthmus proxy-config secrets PROXY`: the SDS secrets one proxy serves, read
// from the proxy's own admin API (/secrets), as istioctl reads a pod's Envoy
// for `proxy-config secret`: the control plane never holds workload keys or
// certificates. Chain, serial, SANs and expiry; never the key.

interface CertView {
  readonly serial_number: string;
  readonly subject: string;
  readonly issuer: string;
  readonly subject_alt_names: readonly string[];
  readonly valid_from: string;
  readonly expiration_time: string;
}

interface SecretView {
  readonly name: string;
  /** Where the proxy got it: its workload identity (CSR) or the control plane (ADS). */
  readonly source?: string;
  readonly spiffe_id?: string;
  readonly serial_number?: string;
  readonly expiration_time?: string;
  readonly last_updated?: string;
  readonly cert_chain?: readonly CertView[];
  readonly trusted_ca?: readonly CertView[];
}

/** takes PROXY as given (HOST:PORT or a URL of its admin API); returns the admin base URL. */
export function proxyAdminUrl(proxy: string): string {
  if (/^https?:\/\//.test(proxy)) return proxy.replace(/\/+$/, '');
  return `http://${proxy}`;
}

/** takes the /secrets answer; returns the text table. */
export function formatSecrets(body: { secrets?: readonly SecretView[]; waiting?: readonly { name: string; warming?: readonly string[] }[] }): string {
  const secrets = body.secrets ?? [];
  const waiting = body.waiting ?? [];
  if (secrets.length === 0 && waiting.length === 0) return 'no SDS secrets: the proxy runs without --token-file (no workload identity) and names none\n';
  const rows: string[][] = [['RESOURCE NAME', 'SOURCE', 'IDENTITY / SUBJECT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE']];
  for (const s of secrets) {
    const certs = s.cert_chain ?? s.trusted_ca ?? [];
    const source = s.source ?? '';
    certs.forEach((c, i) => {
      const who = i === 0 && s.spiffe_id !== undefined ? s.spiffe_id : (c.subject_alt_names ?? []).length > 0 ? c.subject_alt_names.join(',') : c.subject ?? '';
      rows.push([i === 0 ? s.name : `  ${s.name}[${i}]`, i === 0 ? source : '', who, c.serial_number ?? '', c.expiration_time ?? '', c.valid_from ?? '']);
    });
  }
  for (const w of waiting) {
    rows.push([w.name, 'ADS', `waiting${(w.warming ?? []).length > 0 ? ` (warming: ${w.warming!.join(', ')})` : ''}`, '', '', '']);
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return `${rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ')).join('\n')}\n`;
}
