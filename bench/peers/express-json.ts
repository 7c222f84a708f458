/**
 * Peer: Express 5 with `express.json` and undici — the floor for a gateway that must read each JSON body (auth,
 * limits, metering) and forward it: parse, re-serialise, relay the answer's bytes untouched. Usage:
 * express-json.ts <upstream origin>; prints `port=<n>`.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Pool } from 'undici';

const pool = new Pool(process.argv[2], { connections: 256, keepAliveTimeout: 60_000 });
const app = express();

app.post('/v1/chat/completions', express.json({ limit: '10mb' }), (req, res) => {
  pool
    .request({ path: req.originalUrl, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req.body) })
    .then(({ statusCode, headers, body }) => {
      res.writeHead(statusCode, { 'content-type': String(headers['content-type']) });
      body.pipe(res);
    })
    .catch(() => {
      if (!res.headersSent) res.status(502).end();
    });
});
const server = app.listen(0, '127.0.0.1', () => console.log(`port=${(server.address() as AddressInfo).port}`));
server.keepAliveTimeout = 60_000;
