/** Every upstream failure reaches the client OpenAI-shaped, with the status docs/endpoints.md gives it. */
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import type { APIError } from 'openai';
import { CANARY, hfEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

interface ErrorCase {
  model: string;
  status: number;
  code: string;
  message: RegExp;
  retryAfter?: string;
}

const CASES: ErrorCase[] = [
  { model: 'org/error-401', status: 502, code: 'upstream_error', message: /HTTP 401: Invalid credentials in Authorization header/ },
  { model: 'org/unsupported', status: 404, code: 'model_not_found', message: /not supported by any provider you have enabled/ },
  { model: 'org/loading', status: 503, code: 'upstream_unavailable', message: /currently loading/, retryAfter: '20' },
  { model: 'org/html-500', status: 502, code: 'upstream_error', message: /HTTP 500: an HTML error page \("500 Internal Server Error"\)/ },
  { model: 'org/bad-request', status: 400, code: 'validation', message: /top_p/ },
  { model: 'org/rate-limited', status: 429, code: 'upstream_rate_limited', message: /Rate limit reached/, retryAfter: '7' },
  { model: 'org/truncated-json', status: 502, code: 'upstream_error', message: /closed the connection|not valid JSON/ },
  { model: 'org/reset', status: 503, code: 'upstream_unavailable', message: /cannot be reached/ },
  { model: 'org/slow', status: 504, code: 'upstream_timeout', message: /did not answer within its timeout/ },
];

describe('upstream errors', () => {
  let hf: MockUpstream;
  let gateway: TestGateway;
  let client: OpenAI;
  let secret: string;

  before(async () => {
    hf = await startMock({ flavor: 'hf', slowMs: 3000 });
    gateway = await startGateway({
      providers: {
        huggingface: hfEntry(hf.url, { timeout_ms: 300 }),
        unconfigured: { plugin: 'huggingface', base_url: hf.url, api_key: '', models: ['unset/*'] },
      },
    });
    secret = (await gateway.createKey()).secret;
    client = gateway.client(secret);
  });

  after(async () => {
    await gateway.close();
    await hf.close();
  });

  for (const row of CASES) {
    it(`${row.model} → ${row.status} ${row.code} (JSON)`, async () => {
      const error = await client.chat.completions.create({ model: row.model, messages: [{ role: 'user', content: `Hi ${CANARY}` }] }).then(
        () => assert.fail('expected an error'),
        (e: APIError) => e,
      );
      assert.equal(error.status, row.status);
      assert.equal(error.code, row.code);
      assert.match(error.message, row.message);
      assert.equal(typeof error.type, 'string');
      assert.match(error.requestID ?? '', /^req_/);
      if (row.retryAfter) assert.equal(error.headers?.get('retry-after'), row.retryAfter);
    });

    it(`${row.model} → ${row.status} ${row.code} (stream, before the first byte)`, async () => {
      const error = await client.chat.completions.create({ model: row.model, messages: [{ role: 'user', content: `Hi ${CANARY}` }], stream: true }).then(
        () => assert.fail('expected an error'),
        (e: APIError) => e,
      );
      assert.equal(error.status, row.status);
      assert.equal(error.code, row.code);
    });
  }

  it('answers 503 provider_not_configured naming the variable when the entry has no key', async () => {
    const response = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unset/model', provider: 'unconfigured', messages: [{ role: 'user', content: `Hi ${CANARY}` }] }),
    });
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), {
      error: { message: 'Hugging Face API key (HUG_API_KEY) not configured', type: 'server_error', param: null, code: 'provider_not_configured' },
    });
  });

  it('ends a stream that fails midway with a final error event after the streamed chunks', async () => {
    const stream = await client.chat.completions.create({ model: 'org/midstream-error', messages: [{ role: 'user', content: `Hi ${CANARY}` }], stream: true });
    const pieces: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) pieces.push(chunk.choices[0].delta.content);
      })(),
      /failed mid-stream: Model overloaded/,
    );
    assert.deepEqual(pieces, ['Hello', ' from']);
  });

  it('sends the mid-stream error as one OpenAI-shaped data event', async () => {
    const response = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'org/midstream-error', messages: [{ role: 'user', content: `Hi ${CANARY}` }], stream: true }),
    });
    assert.equal(response.status, 200);
    const events = (await response.text()).trim().split('\n\n');
    const last = JSON.parse(events.at(-1)!.replace(/^data: /, '')) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(last.error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(last.error.code, 'upstream_error');
  });

  it('ends a stream whose upstream connection resets midway with an error event', async () => {
    const response = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'org/reset-midstream', messages: [{ role: 'user', content: `Hi ${CANARY}` }], stream: true }),
    });
    const events = (await response.text()).trim().split('\n\n');
    assert.ok(events.length >= 3);
    assert.match(events.at(-1)!, /^data: \{"error":\{.*"code":"upstream_error"/);
  });

  it('ends a stream that goes silent longer than timeout_ms with an upstream_timeout event', async () => {
    const response = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'org/slow-stream', messages: [{ role: 'user', content: `Hi ${CANARY}` }], stream: true }),
    });
    const events = (await response.text()).trim().split('\n\n');
    assert.match(events.at(-1)!, /"code":"upstream_timeout"/);
  });
});
