/** The node:http server around the app: client timeouts that hold, JSON for malformed HTTP, in-flight tracking. */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from './config/load.ts';
import type { ServedApp } from './middleware/model-dispatch.ts';
import { answerClientError, answerRaw } from './raw-answers.ts';
import { InFlight } from './util/in-flight.ts';

export function createHttpServer(options: Config['server'], app: ServedApp): http.Server {
  const server = http.createServer(
    {
      headersTimeout: options.headers_timeout_ms,
      requestTimeout: options.request_body_timeout_ms,
      keepAliveTimeout: options.keep_alive_timeout_ms,
      maxHeaderSize: options.max_header_size,
      // Node's own answer to a missing Host is a bare 400 without a body; the app answers it in JSON instead.
      requireHostHeader: false,
      // Node checks the two timeouts above only this often (30 s by default), so a slowloris client would hold
      // its socket up to 30 s past headers_timeout_ms; checking at a fraction of the smaller one keeps the bound.
      connectionsCheckingInterval: checkingIntervalMs(options.headers_timeout_ms, options.request_body_timeout_ms),
      IncomingMessage: app.IncomingMessage,
      ServerResponse: app.ServerResponse,
    },
    app.listener,
  );
  // Bounds what one request may make the parser hold, beside max_header_size.
  server.maxHeadersCount = 200;
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerClientError(error, socket));
  // Without a listener Node drops CONNECT tunnels without a word; the gateway is no proxy, so say so in JSON.
  server.on('connect', (_req, socket: Duplex) => answerRaw(socket, 405, 'method_not_allowed', 'CONNECT is not supported.'));
  return server;
}

/** A quarter of the shortest timeout, between 50 ms and 1 s: the timeouts then hold to within 25 %. */
export function checkingIntervalMs(headersTimeoutMs: number, bodyTimeoutMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(Math.min(headersTimeoutMs, bodyTimeoutMs) / 4)));
}

export function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

/** Counts requests in progress so shutdown can wait for them. */
export function trackInFlight(server: http.Server): InFlight {
  const requests = new InFlight();
  server.on('request', (_req, res: http.ServerResponse) => {
    requests.enter();
    res.once('close', () => requests.leave());
  });
  return requests;
}
