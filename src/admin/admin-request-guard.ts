// Why a web page cannot drive an admin port. A browser on the same machine
// can reach 127.0.0.1, so three rules keep pages of other origins out:
//  - DNS rebinding: the Host header must name the admin as the operator
//    reaches it: `localhost`, an IP literal, or a name given with
//    --admin-allowed-host. A rebinding page's Host is its own DNS name.
//    The port is not checked: a port-forward (kubectl, ssh -L) changes it,
//    and a name the attacker owns is refused whatever the port.
//  - Origin: a request that carries one (every browser POST and fetch does)
//    must come from the admin itself (`http://<Host>`), never another page.
//  - POSTs change state, so they need what a browser cannot send cross-origin
//    without a CORS preflight (which the admin never allows): the
//    `x-isthmus-admin` header, or a content type outside the CORS-safelisted
//    three (text/plain, form, multipart). curl and the CLI send one of them.
// The control plane's write API also needs a bearer token (checked here in
// constant time), so a local process without the data dir cannot write.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** The header that marks a request as sent by a tool, not by a cross-origin page (`x-isthmus-admin: 1`). */
export const ADMIN_HEADER = 'x-isthmus-admin';

/** Content types a page may POST cross-origin without a preflight (Fetch's CORS-safelisted request header). */
const SIMPLE_CONTENT_TYPES: ReadonlySet<string> = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);

/** Lower-cased names (`name` for any port, or `name:port`) besides localhost and IP literals. */
export type AllowedHosts = ReadonlySet<string>;

export function allowedHostSet(names: readonly string[] | undefined): AllowedHosts {
  return new Set((names ?? []).map((n) => n.trim().toLowerCase()).filter((n) => n !== ''));
}

/** `[::1]:15000` -> `[::1]`, `localhost:15000` -> `localhost`; null when the port part is not digits. */
function hostName(host: string): string | null {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end === -1) return null;
    const rest = host.slice(end + 1);
    return rest === '' || /^:\d{1,5}$/.test(rest) ? host.slice(0, end + 1) : null;
  }
  const colon = host.indexOf(':');
  if (colon === -1) return host;
  return /^\d{1,5}$/.test(host.slice(colon + 1)) ? host.slice(0, colon) : null;
}

/** Takes the Host header (lower-cased, may be ''); returns why it is refused, or undefined. */
export function hostProblem(host: string, allowed: AllowedHosts): string | undefined {
  if (host === '') return undefined; // no browser omits Host; HTTP/1.0 tools do
  const name = hostName(host);
  if (name !== null) {
    if (name === 'localhost' || isIPv4(name) || (name.startsWith('[') && isIPv6(name.slice(1, -1)))) return undefined;
    if (allowed.has(name) || allowed.has(host)) return undefined;
  }
  return `Host '${host}' is not this admin's address (localhost, an IP address, or a name given with --admin-allowed-host); refused to prevent DNS rebinding\n`;
}

/** Takes the Origin and Host headers (lower-cased, may be ''); returns why the request is refused, or undefined. */
export function originProblem(origin: string, host: string): string | undefined {
  if (origin === '') return undefined;
  if (host !== '' && (origin === `http://${host}` || origin === `https://${host}`)) return undefined;
  return `requests from other web origins are refused (Origin '${origin}')\n`;
}

/** Takes a POST's content-type and x-isthmus-admin headers; returns why it is refused, or undefined. */
export function postProblem(path: string, contentType: string, adminHeader: string): string | undefined {
  if (adminHeader !== '') return undefined;
  const essence = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (essence !== '' && !SIMPLE_CONTENT_TYPES.has(essence)) return undefined;
  return `POST ${path} changes state: send the header '${ADMIN_HEADER}: 1' (or a content type such as application/json), ` +
    `e.g. curl -X POST -H '${ADMIN_HEADER}: 1' ...; a web page cannot send either without a CORS preflight, which is refused\n`;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Takes the Authorization header and the expected token; true when it is `Bearer <token>` (constant time). */
export function bearerMatches(authorization: string, token: string): boolean {
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  // Hashing first makes the comparison constant-time in the token's length too.
  const given = digest(match === null ? '' : match[1]!);
  return timingSafeEqual(given, digest(token)) && match !== null && token !== '';
}
