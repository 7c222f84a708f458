/**
 * Peer: Express 5 with http-proxy-middleware 3, the common "put Express in front" passthrough. It streams bodies
 * both ways without parsing them, over a keep-alive agent. Usage: express-proxy.ts <upstream origin>; prints
 * `port=<n>`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';

const app = express();
app.use(createProxyMiddleware({ target: process.argv[2], changeOrigin: true, agent: new http.Agent({ keepAlive: true, maxSockets: 256 }) }));
const server = app.listen(0, '127.0.0.1', () => console.log(`port=${(server.address() as AddressInfo).port}`));
server.keepAliveTimeout = 60_000;
