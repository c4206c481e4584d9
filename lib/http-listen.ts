import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hardenHttpServer, type HardenOptions } from './http-harden.js';

export interface Listening {
  server: Server;
  port: number;
  url: string;
  /** Closes open keep-alive connections too, so shutdown never waits on an idle client. */
  close(): Promise<void>;
}

/**
 * Listen on `port` (0: any free port) and resolve once bound, with the port actually taken. Every
 * server goes through here, so every one gets the defences of lib/http-harden.ts.
 */
export async function listen(server: Server, port: number, host: string, harden: HardenOptions = {}): Promise<Listening> {
  hardenHttpServer(server, harden);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
