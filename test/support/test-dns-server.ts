// A DNS server on 127.0.0.1 (UDP, a free port) for tests of DNS clusters:
// answers A / AAAA from a table the test changes while the proxy runs; a name
// not in the table gets NXDOMAIN, one marked 'servfail' gets SERVFAIL.
import { createServer, Packet, type DnsServer } from 'dns2';

export interface TestDnsServer {
  readonly port: number;
  /** Sets (or with `undefined` removes) a name's answers; 'servfail' makes the server answer SERVFAIL. */
  set(name: string, answer: { a?: readonly string[]; aaaa?: readonly string[]; ttl?: number } | 'servfail' | undefined): void;
  /** Queries received for `name` (any type) so far. */
  queries(name: string): number;
  close(): Promise<void>;
}

export async function startTestDnsServer(): Promise<TestDnsServer> {
  const table = new Map<string, { a?: readonly string[]; aaaa?: readonly string[]; ttl?: number } | 'servfail'>();
  const counts = new Map<string, number>();
  const server: DnsServer = createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      if (question === undefined) {
        send(response);
        return;
      }
      const name = question.name.toLowerCase();
      counts.set(name, (counts.get(name) ?? 0) + 1);
      const entry = table.get(name);
      if (entry === undefined) {
        response.header.rcode = Packet.RCODE.NXDOMAIN;
      } else if (entry === 'servfail') {
        response.header.rcode = Packet.RCODE.SERVFAIL;
      } else {
        const ttl = entry.ttl ?? 30;
        if (question.type === Packet.TYPE.A) {
          for (const address of entry.a ?? []) response.answers.push({ name: question.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl, address });
        } else if (question.type === Packet.TYPE.AAAA) {
          for (const address of entry.aaaa ?? []) response.answers.push({ name: question.name, type: Packet.TYPE.AAAA, class: Packet.CLASS.IN, ttl, address });
        }
      }
      send(response);
    },
  });
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const port = (addresses as { udp?: { port: number } }).udp?.port ?? 0;
  return {
    port,
    set(name, answer) {
      if (answer === undefined) table.delete(name.toLowerCase());
      else table.set(name.toLowerCase(), answer);
    },
    queries: (name) => counts.get(name.toLowerCase()) ?? 0,
    close: () => server.close(),
  };
}
