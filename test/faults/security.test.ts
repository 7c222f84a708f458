/**
 * Security gaps the integration tests leave open: no secret in the database files, the admin token check, 431 as
 * JSON, no client-controlled upstream URL (SSRF), provider keys never echoed back, helmet headers on admin, health
 * and metrics, and CORS preflights that allow every header the real `openai` SDK sends.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { tokenMatches } from '../../src/routes/admin-auth.ts';
import { HF_KEY, hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';
import { isOpenAIError, rawRequest } from '../helpers/raw-http.ts';

const ADMIN_TOKEN = 'admin-token-for-security-tests-0123';

describe('security', () => {
  let hf: MockUpstream;
  let victim: MockUpstream;
  let echo: http.Server;
  let gateway: TestGateway;
  let secret: string;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY });
    victim = await startMock({ flavor: 'openai' });
    // An upstream that repeats the credentials it was sent in its error body, as some misconfigured proxies do.
    echo = http.createServer((req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `bad upstream auth: ${req.headers.authorization}` } }));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    gateway = await startGateway({
      providers: {
        echo: hfEntry(`http://127.0.0.1:${(echo.address() as AddressInfo).port}/v1`, { models: ['echo/*'] }),
        huggingface: hfEntry(hf.url),
      },
      config: { admin: { token: ADMIN_TOKEN }, server: { cors_origins: ['*'], max_header_size: 8192 } },
    });
    secret = (await gateway.createKey({ name: 'security', credits_usd: 2 })).secret;
  });

  after(async () => {
    await gateway.close();
    await hf.close();
    await victim.close();
    await new Promise((resolve) => echo.close(resolve));
  });

  const chat = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], ...body }),
    });

  it('stores gateway keys only as hashes: no secret anywhere in the database files', async () => {
    const admin = await fetch(`${gateway.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'made-by-admin', credits_usd: 1 }),
    });
    const adminSecret = ((await admin.json()) as { key: string }).key;
    await (await chat({ model: 'org/model' })).arrayBuffer();
    await gateway.running.deps.writer.flush();
    const file = gateway.config.database.connection;
    const bytes = Buffer.concat([file, `${file}-wal`].filter(existsSync).map((path) => readFileSync(path)));
    for (const key of [secret, adminSecret]) {
      assert.equal(bytes.includes(key), false, 'the full key');
      assert.equal(bytes.includes(key.slice(6, 30)), false, 'any long part of it');
    }
    const rows = JSON.stringify(await gateway.running.deps.db('api_keys').select('*'));
    assert.doesNotMatch(rows, /sk-sy-[0-9A-Za-z]{10,}/, 'only the short display prefix is stored');
  });

  it('checks the admin token in constant time and refuses near misses', async () => {
    for (const token of ['', ADMIN_TOKEN.slice(0, -1), `${ADMIN_TOKEN}x`, ADMIN_TOKEN.toUpperCase(), `${ADMIN_TOKEN.slice(0, -1)}4`]) {
      const response = await fetch(`${gateway.url}/admin/keys`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.status, 401, JSON.stringify(token));
      assert.ok(isOpenAIError(await response.json()));
    }
    // Both sides are hashed before timingSafeEqual, so a wrong length cannot end the comparison early.
    assert.equal(tokenMatches(`Bearer ${ADMIN_TOKEN}`, ADMIN_TOKEN), true);
    assert.equal(tokenMatches(`Bearer ${'x'.repeat(10_000)}`, ADMIN_TOKEN), false);
    assert.equal(tokenMatches('Bearer ', ''), false, 'an empty configured token never matches');
  });

  it('answers headers over server.max_header_size with 431 JSON', async () => {
    const answer = await rawRequest(gateway.running.port, `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(10_000)}\r\n\r\n`);
    assert.equal(answer.status, 431);
    assert.equal(answer.headers['content-type'], 'application/json');
    assert.equal(JSON.parse(answer.body).error.code, 'headers_too_large');
  });

  it('never lets a client choose the upstream host or path (no SSRF)', async () => {
    const models = [
      '../../x',
      'org/../../admin',
      `http://127.0.0.1:${new URL(victim.root).port}/v1/chat/completions`,
      `//127.0.0.1:${new URL(victim.root).port}/steal`,
      'org/%2e%2e%2f%2e%2e%2fetc',
      'org/model?redirect=http://evil.example',
      'org/model#frag',
      'org/model\r\nHost: evil.example',
    ];
    const before = hf.requests.length;
    for (const model of models) {
      const headers = { 'x-forwarded-host': 'evil.example', 'x-original-url': '/admin', 'x-rewrite-url': '/admin', forwarded: 'host=evil.example' };
      const response = await chat({ model }, headers);
      await response.arrayBuffer();
    }
    const upstreamCalls = hf.requests.slice(before);
    assert.ok(upstreamCalls.length > 0, 'some of these are valid org/model ids and were sent');
    for (const request of upstreamCalls) {
      assert.equal(request.path, '/v1/chat/completions', 'always the provider path');
      assert.equal(request.headers.host, new URL(hf.root).host, 'always the provider host');
      assert.equal(request.headers['x-forwarded-host'], undefined, 'client headers are not forwarded');
    }
    const byProvider = await chat({ model: 'org/model', provider: victim.url });
    assert.equal(byProvider.status, 400);
    assert.equal(((await byProvider.json()) as { error: { code: string } }).error.code, 'unknown_provider');
    assert.equal(victim.requests.length, 0, 'the other host never heard from the gateway');
  });

  it('never repeats a provider key an upstream echoes back, in errors or metrics', async () => {
    const response = await chat({ model: 'echo/model' });
    const text = await response.text();
    assert.equal(response.status, 502);
    assert.match(text, /bad upstream auth: Bearer \[redacted\]/);
    assert.equal(text.includes(HF_KEY), false);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.equal(metrics.includes(HF_KEY), false);
    assert.equal(metrics.includes(secret), false);
  });

  it('sets helmet security headers on admin, health and metrics answers, refusals included', async () => {
    const answers = [
      await fetch(`${gateway.url}/health`),
      await fetch(`${gateway.url}/metrics`),
      await fetch(`${gateway.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
      await fetch(`${gateway.url}/admin/keys`),
    ];
    for (const response of answers) {
      await response.arrayBuffer();
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', response.url);
      assert.equal(response.headers.get('x-frame-options'), 'SAMEORIGIN', response.url);
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/, response.url);
      assert.match(response.headers.get('strict-transport-security') ?? '', /max-age=\d+/, response.url);
      assert.equal(response.headers.get('x-powered-by'), null, response.url);
    }
  });

  it('lets browser apps call with the openai SDK: every header the SDK sends is allowed by the preflight', async () => {
    let sent: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      sent = [...new Headers(init?.headers).keys()];
      return fetch(input, init);
    };
    const client = new OpenAI({ apiKey: secret, baseURL: gateway.baseURL, fetch: recording, maxRetries: 0 });
    await client.chat.completions.create({ model: 'org/model', messages: [{ role: 'user', content: 'Hi' }] });
    const stainless = sent.filter((name) => name.startsWith('x-stainless-'));
    assert.ok(stainless.length >= 5, `the SDK sends X-Stainless-* headers: ${stainless}`);
    const preflight = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://any.example', 'access-control-request-method': 'POST', 'access-control-request-headers': sent.join(',') },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://any.example', 'cors_origins ["*"] admits any origin');
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',');
    for (const name of sent) assert.ok(allowed.includes(name), `${name} is allowed`);
  });
});
