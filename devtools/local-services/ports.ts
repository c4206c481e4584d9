import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports for local services are picked BELOW the kernel's ephemeral range, not with listen(0).
 * listen(0) hands out an ephemeral port, and ephemeral ports are also what every outgoing
 * connection uses as its source port. While a service is stopped (tests stop InfluxDB for 30 s
 * while the writer keeps retrying it), a client connecting to 127.0.0.1:P may be given P itself as
 * its source port (TCP self-connect) or another client may hold it, and the service then cannot
 * bind P again on restart. Outside the ephemeral range no outgoing connection ever takes our port.
 */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo > 0 && hi >= lo) return [lo, hi];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

const LOWEST = 10_000;

/** Ports handed out by this process: never hand one out twice, even once its probe socket is closed. */
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function ephemeral(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A loopback TCP port that was free a moment ago and that this process has not handed out before,
 * chosen at random below the ephemeral range (see above). Another process can still take it before
 * the service binds it: the launchers retry with a new port when a service reports "address in use".
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const span = ephemeralLow - LOWEST;
  if (span >= 1000) {
    for (let attempt = 0; attempt < 200; attempt++) {
      const port = LOWEST + Math.floor(Math.random() * span);
      if (handedOut.has(port)) continue;
      if (await canListen(port)) {
        handedOut.add(port);
        return port;
      }
    }
  }
  // An unusual port range configuration: fall back to what the kernel gives.
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await ephemeral();
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: no free loopback port found');
}

/** The log line each of our services prints when its port was taken after all. */
export const ADDRESS_IN_USE = /address already in use/i;
