/** Retries with backoff, fallbacks to another provider entry (billed at its price), and CORS for browser apps. */
import assert from 'node:assert/strict';
import type { APIError } from 'openai';
import { HF_KEY, OPENAI_KEY, hfEntry, openaiEntry, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { costMicro, type TestPrice } from '../helpers/costs.ts';
import { MOCK_TEXT, startMock, type MockUpstream } from '../helpers/mock-upstream.ts';

const HI = [{ role: 'user' as const, content: 'Hi' }];
/** The backup entry prices every model itself. */
const BACKUP_PRICE: TestPrice = { input: 1, output: 2 };

describe('retries, fallbacks and CORS', () => {
  let hf: MockUpstream;
  let backup: MockUpstream;
  let gateway: TestGateway;
  let secret: string;

  before(async () => {
    hf = await startMock({ flavor: 'hf', apiKey: HF_KEY, flakyFailures: 2 });
    backup = await startMock({ flavor: 'openai', apiKey: OPENAI_KEY });
    gateway = await startGateway({
      providers: {
        // Same upstream, wrong key: every call fails with the router's bare-string 401. Listed first: first match wins.
        stale: hfEntry(hf.url, { api_key: 'hf_revokedToken0123456789', models: ['stale/*'] }),
        huggingface: hfEntry(hf.url, { retries: { attempts: 2, base_ms: 5, max_ms: 50 } }),
        backup: openaiEntry(backup.url, { models: ['backup/*'], pricing: { '*': BACKUP_PRICE } }),
      },
      config: {
        fallbacks: { 'stale/*': ['backup'], 'org/loading': [{ provider: 'backup', model: 'backup/model' }] },
        server: { cors_origins: ['https://app.example.com'] },
      },
    });
    secret = (await gateway.createKey({ credits_usd: 1 })).secret;
  });

  after(async () => {
    await gateway.close();
    await hf.close();
    await backup.close();
  });

  const rowOf = async (requestId: string) => {
    await gateway.running.deps.writer.flush();
    return gateway.running.deps.db('usage').where({ request_id: requestId }).first();
  };

  it('retries a 503 with backoff and succeeds on the third attempt', async () => {
    const before = hf.requestsTo('/v1/chat/completions').length;
    const { data, response } = await gateway.client(secret).chat.completions.create({ model: 'org/flaky', messages: HI }).withResponse();
    assert.equal(data.choices[0].message.content, MOCK_TEXT);
    assert.equal(hf.requestsTo('/v1/chat/completions').length - before, 3);
    const row = await rowOf(response.headers.get('x-request-id')!);
    assert.equal(row.attempts, 3);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.match(metrics, /switchyard_upstream_attempts_total\{provider="huggingface",outcome="upstream_unavailable"\} 2/);
  });

  it('does not wait out a Retry-After longer than retries.max_ms: the 429 comes back with it', async () => {
    const error = await gateway
      .client(secret)
      .chat.completions.create({ model: 'org/rate-limited', messages: HI })
      .then(
        () => assert.fail('expected 429'),
        (e: APIError) => e,
      );
    assert.equal(error.status, 429);
    assert.equal(error.code, 'upstream_rate_limited');
    assert.equal(error.headers?.get('retry-after'), '7');
  });

  it('falls back to the next provider entry and bills at its price', async () => {
    const { data, response } = await gateway.client(secret).chat.completions.create({ model: 'stale/model', messages: HI }).withResponse();
    assert.equal(data.choices[0].message.content, MOCK_TEXT);
    assert.equal(backup.lastRequest!.body!.model, 'stale/model');
    const row = await rowOf(response.headers.get('x-request-id')!);
    assert.equal(row.provider, 'backup');
    assert.equal(row.attempts, 2);
    assert.equal(row.cost_micro, costMicro(BACKUP_PRICE), "billed at the backup entry's own price");
  });

  it('asks a fallback for its own model name when one is configured, streams included', async () => {
    const stream = await gateway.client(secret).chat.completions.create({ model: 'org/loading', messages: HI, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, MOCK_TEXT);
    assert.equal(backup.lastRequest!.body!.model, 'backup/model');
  });

  it('does not fall back on an error the request itself caused', async () => {
    const before = backup.requests.length;
    await assert.rejects(gateway.client(secret).chat.completions.create({ model: 'org/bad-request', messages: HI }), (error: APIError) => error.status === 400);
    assert.equal(backup.requests.length, before);
  });

  it('answers CORS preflights for configured origins, the SDK headers included', async () => {
    const preflight = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-stainless-os,x-stainless-retry-count',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /x-stainless-os/);
    const other = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const answer = await fetch(`${gateway.baseURL}/models`, { headers: { origin: 'https://app.example.com', authorization: `Bearer ${secret}` } });
    assert.match(answer.headers.get('access-control-expose-headers') ?? '', /x-request-id/);
  });
});
