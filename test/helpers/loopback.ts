/** Servers the tests start on 127.0.0.1 at a port from the OS, and close without waiting on kept-alive connections. */
import { once } from 'node:events';
import type net from 'node:net';

/** Listens on 127.0.0.1 at a free port and resolves with the port. */
export async function listenOnLoopback(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** Keeps `sockets` the set of the server's open connections. */
export function trackSockets(server: net.Server, sockets: Set<net.Socket>): void {
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
}

/** Cuts every open connection (keep-alive ones would hold `close` up), then stops listening. */
export async function closeServer(server: net.Server | undefined, sockets: Set<net.Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  if (server?.listening) await new Promise((resolve) => server.close(resolve));
}
