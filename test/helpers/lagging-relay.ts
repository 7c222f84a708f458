/**
 * A TCP relay that hands the server's bytes to the client `delayMs` late, as a busy client that has not read its socket
 * yet: when the server resets the connection meanwhile, the bytes not yet handed over are lost, as a kernel drops
 * unread data on a reset. This is how a real network makes an SDK lose an answer sent over a body it is still writing.
 */
import net from 'node:net';
import { listenOnLoopback } from './loopback.ts';

export class LaggingRelay {
  private readonly server: net.Server;
  port = 0;
  /** Connections the server reset while the client had not read everything. */
  resets = 0;

  constructor(
    private readonly targetPort: number,
    private readonly delayMs = 50,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async start(): Promise<this> {
    this.port = await listenOnLoopback(this.server);
    return this;
  }

  private readonly sockets = new Set<net.Socket>();

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    }
    const timers = new Set<NodeJS.Timeout>();
    const later = (action: () => void): void => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        action();
      }, this.delayMs);
      timers.add(timer);
    };
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => later(() => client.write(chunk)));
    upstream.on('end', () => later(() => client.end()));
    upstream.on('error', () => {
      for (const timer of timers) clearTimeout(timer);
      if (timers.size > 0) this.resets++;
      client.resetAndDestroy();
    });
    client.on('error', () => upstream.destroy());
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
