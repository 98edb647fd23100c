// Listener ports are resolved once, in the agent: reservePort() binds the
// address (port 0 becomes one real port) and holds it, so every worker can
// then listen on that same port with SO_REUSEPORT and a reload cannot lose
// the port to another process. A listener whose address and port are
// unchanged across reloads keeps its reservation (and so its real port).
import type { Bootstrap, Listener } from '../../src/config/bootstrap-types.js';
import { closeFd, reservePort } from '../../src/native.js';

interface Reservation {
  readonly fd: number;
  readonly port: number;
}

/** Error from reserving a listener's port; names the listener and address. */
export class PortReservationError extends Error {
  override readonly name = 'PortReservationError';
}

export class PortReservations {
  private readonly held = new Map<string, Reservation>();
  /** Reservations made by pin(), kept until closeAll() whether or not a listener uses them. */
  private readonly pinned = new Map<string, Reservation>();

  /** Reserves `address:port` (0: any free port) for the agent's lifetime; returns the real port. Throws PortReservationError. */
  pin(address: string, port: number, what: string): number {
    const reservation = reserve({ name: what, address: { address, port } } as Listener);
    this.pinned.set(`${address}|${reservation.port}`, reservation);
    return reservation.port;
  }

  /**
   * Takes a validated bootstrap; returns a copy whose listeners carry real
   * ports. Reservations no listener uses any more are released. On error
   * nothing held before is released and nothing new is kept.
   */
  resolve(bootstrap: Bootstrap): Bootstrap {
    const next = new Map<string, Reservation>();
    const fresh: Reservation[] = [];
    const listeners: Listener[] = [];
    try {
      for (const listener of bootstrap.listeners) {
        const key = reservationKey(listener);
        let reservation = next.get(key) ?? this.held.get(key) ?? this.pinned.get(key);
        if (reservation === undefined) {
          reservation = reserve(listener);
          fresh.push(reservation);
        }
        next.set(key, reservation);
        listeners.push({ ...listener, address: { address: listener.address.address, port: reservation.port } });
      }
    } catch (err) {
      for (const r of fresh) closeFd(r.fd);
      throw err;
    }
    for (const [key, r] of this.held) {
      if (!next.has(key) && this.pinned.get(key) !== r) closeFd(r.fd);
    }
    this.held.clear();
    for (const [key, r] of next) this.held.set(key, r);
    return { ...bootstrap, listeners };
  }

  /** Releases every held port (on exit). */
  closeAll(): void {
    const fds = new Set([...this.held.values(), ...this.pinned.values()].map((r) => r.fd));
    for (const fd of fds) closeFd(fd);
    this.held.clear();
    this.pinned.clear();
  }
}

/** A fixed port is keyed by address+port; port 0 also by listener name, so each such listener keeps its own port. */
function reservationKey(listener: Listener): string {
  const { address, port } = listener.address;
  return port === 0 ? `${address}|0|${listener.name}` : `${address}|${port}`;
}

function reserve(listener: Listener): Reservation {
  const { address, port } = listener.address;
  try {
    return reservePort(address, port);
  } catch (err) {
    const host = address.includes(':') ? `[${address}]` : address;
    throw new PortReservationError(`listener '${listener.name}': cannot reserve ${host}:${port}: ${(err as Error).message}`);
  }
}
