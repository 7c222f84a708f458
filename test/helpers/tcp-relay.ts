/**
 * A TCP relay the test owns, between the gateway and a shared service (PostgreSQL, Redis): `cut()` drops every
 * connection through it and refuses new ones, `restore()` lets traffic through again. This is how the fault
 * tests take a database or Redis "down" without ever touching the machine's shared servers.
 */
import net from 'node:net';
import { listenOnLoopback } from './loopback.ts';

export class TcpRelay {
  private readonly server: net.Server;
  private readonly pairs = new Set<net.Socket>();
  private down = false;
  /** Connections dropped by `cut()` or refused while cut: the faults this relay injected. */
  faults = 0;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async start(): Promise<this> {
    this.port = await listenOnLoopback(this.server);
    return this;
  }

  /** `url` with its host and port replaced by the relay's. */
  rewrite(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  private accept(client: net.Socket): void {
    client.on('error', () => undefined);
    if (this.down) {
      // A reset, as a crashed or unreachable server gives: the client learns at once, without waiting for a timeout.
      this.faults++;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
    for (const socket of [client, upstream]) {
      this.pairs.add(socket);
      socket.once('close', () => {
        this.pairs.delete(socket);
        (socket === client ? upstream : client).destroy();
      });
    }
  }

  /** Drops every open connection (with a reset) and refuses new ones until `restore()`. */
  cut(): void {
    this.down = true;
    this.faults += Math.ceil(this.pairs.size / 2);
    for (const socket of this.pairs) socket.resetAndDestroy();
  }

  restore(): void {
    this.down = false;
  }

  get openConnections(): number {
    return this.pairs.size / 2;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
